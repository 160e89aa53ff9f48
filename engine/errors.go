package engine

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors. Every error the engine returns wraps at most one of them, so callers
// can branch with errors.Is; *HTTPError carries the server's status and body snippet.
var (
	// ErrProtocol: the server's reply broke the tus protocol (missing or malformed
	// Upload-Offset, offset going backwards or past the length, bad Location, …).
	ErrProtocol = errors.New("tus: protocol violation")
	// ErrOffsetMismatch: the server kept answering 409 Conflict.
	ErrOffsetMismatch = errors.New("tus: offset mismatch")
	// ErrUploadExpired: the upload URL is gone (404, 410, or 403 from some servers).
	ErrUploadExpired = errors.New("tus: upload expired or not found")
	// ErrFileChanged: the source changed after the upload started (size or contents
	// unreadable), or no longer matches the server's Upload-Length.
	ErrFileChanged = errors.New("tus: file changed")
	// ErrLocked: another holder (tab, process) has the file's lock.
	ErrLocked = errors.New("tus: file is locked by another upload")
	// ErrUnsupportedServer: OPTIONS showed a server that does not speak tus 1.0.0 or
	// lacks an extension the call needs.
	ErrUnsupportedServer = errors.New("tus: server does not support the request")
	// ErrTooLarge: the file exceeds the server's Tus-Max-Size.
	ErrTooLarge = errors.New("tus: file larger than the server accepts")
	// ErrInvalidOption: the caller's options are unusable (bad metadata key, header
	// value with CR/LF, missing endpoint, non-http URL).
	ErrInvalidOption = errors.New("tus: invalid option")
	// ErrNetwork: the request never produced a response (refused, reset, timed out).
	ErrNetwork = errors.New("tus: network error")
	// ErrRedirect: the server answered a tus request with a redirect. tus requests
	// never follow redirects, so custom headers and credentials cannot be forwarded to
	// a place the caller did not configure; point the endpoint at the final URL.
	ErrRedirect = errors.New("tus: server redirected the request")
)

// HTTPError is an unexpected HTTP status. It wraps ErrUploadExpired for 404/410,
// ErrOffsetMismatch for 409, and ErrLocked for 423, so errors.Is works on the class.
type HTTPError struct {
	Method string
	URL    string
	Status int
	// Body is the start of the response body (at most 512 bytes), e.g. tusd's
	// "ERR_UPLOAD_NOT_FOUND: upload not found".
	Body string

	header http.Header // for Retry-After
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("tus: %s %s: server answered %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Unwrap maps well-known statuses onto the sentinel errors.
func (e *HTTPError) Unwrap() error {
	switch e.Status {
	case http.StatusNotFound, http.StatusGone:
		return ErrUploadExpired
	case http.StatusConflict:
		return ErrOffsetMismatch
	case http.StatusLocked:
		return ErrLocked
	case http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	}
	return nil
}

func protocolErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}
