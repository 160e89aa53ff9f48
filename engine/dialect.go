package engine

import (
	"net/http"
	"net/url"
)

// dialect is one protocol's wire format: which headers each request carries and what
// each reply means. The transfer loop (transfer.go) speaks only through it, so a second
// protocol (the IETF resumable-upload draft) can sit beside tus 1.0.0 without touching
// the loop. Every read method validates what the server sent.
type dialect interface {
	// common sets the headers every request carries (protocol version).
	common(h http.Header)
	// creation: the POST's headers for an upload of size bytes, and its reply's URL.
	createHeaders(h http.Header, size int64, metadata string)
	readCreate(rep *reply, endpoint *url.URL) (*url.URL, error)
	// offset retrieval: the HEAD reply's offset for a file of size bytes.
	readHead(rep *reply, size int64) (int64, error)
	// append: the PATCH's headers for bytes from offset, and the offset its reply
	// confirms for n bytes sent.
	appendHeaders(h http.Header, offset int64)
	readAppend(rep *reply, offset, n int64) (int64, error)
	// termination: whether the DELETE's reply means the upload is gone.
	readDelete(rep *reply) error
	// capabilities: the OPTIONS reply, for a file of size bytes, when creating.
	readOptions(rep *reply, size int64, creating bool) error
}
