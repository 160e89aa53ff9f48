package engine

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// dialect is one protocol's wire format: which headers each request carries and what
// each reply means. The transfer loop (transfer.go) speaks only through it, so a second
// protocol (the IETF resumable-upload draft) can sit beside tus 1.0.0 without touching
// the loop. Every read method validates what the server sent; judging it against the
// file (sizes, bytes sent) is the loop's part.
type dialect interface {
	// common sets the headers every request carries (protocol version).
	common(h http.Header)
	// createHeaders sets a creation POST's headers; readCreate reads its reply.
	createHeaders(h http.Header, c creation)
	readCreate(rep *reply, endpoint *url.URL, c creation) (*url.URL, state, error)
	// readHead reads an offset retrieval (HEAD) reply.
	readHead(rep *reply) (state, error)
	// appendHeaders sets a PATCH's headers; readAppend reads its reply to n bytes sent.
	appendHeaders(h http.Header, a appending)
	readAppend(rep *reply, offset, n int64) (state, error)
	// readDelete reports whether a DELETE's reply means the upload is gone.
	readDelete(rep *reply) error
	// readOptions reads what an OPTIONS reply says the server supports.
	readOptions(rep *reply) (capabilities, error)
	// concatenation reports whether the protocol has final uploads made of parts, which
	// termination looks for (a HEAD) and deletes too.
	concatenation() bool
	// discovers reports whether the protocol's servers announce their extensions
	// (OPTIONS): a creation that needs one (a length not known yet) asks first.
	discovers() bool
}

// newDialect picks the Client's Protocol and checks that the options it is given make
// sense in it.
func newDialect(c *Client) (dialect, error) {
	switch c.Protocol {
	case "", ProtocolTus1:
		return tus1{}, nil
	case ProtocolIETFDraft05:
		return newIETF(c)
	}
	return nil, fmt.Errorf("%w: protocol %q (want %q or %q)", ErrInvalidOption, c.Protocol, ProtocolTus1, ProtocolIETFDraft05)
}

// creation is what a creation request says.
type creation struct {
	size     int64 // -1: not known yet (deferred)
	metadata string
	body     int64 // bytes of the upload sent in the request itself (creation-with-upload)
	// concatenation: a partial upload (a part of a parallel upload), or the final
	// upload made of these parts' URLs (size is then -1 and no length is sent).
	partial bool
	final   []string
}

// appending is what an append (PATCH) request says.
type appending struct {
	offset  int64
	declare int64  // the upload's length, to declare with this request; -1: none
	last    bool   // this request carries the upload's last byte
	sum     string // "algorithm base64digest" for the checksum extension, or ""
}

// state is what a reply says of the upload.
type state struct {
	offset   int64 // -1 when the reply names none
	length   int64 // -1 when it names none
	deferred bool  // the server waits for the length to be declared
	expires  time.Time
	parts    []*url.URL // a final upload's parts (Upload-Concat: final;…)
	// partsLeft counts parts the list names that are not in parts: on another origin,
	// beyond maxParts, or not a URL.
	partsLeft int
	limits    limits // what the server said it accepts (IETF draft's Upload-Limit)
}

// capabilities is what OPTIONS says.
type capabilities struct {
	speaks     bool // the server speaks the call's protocol
	versions   string
	extensions []string
	checksums  []string
	maxSize    int64 // 0: none stated
	limits     limits
}
