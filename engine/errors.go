package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Error is a class of failure with a stable code. The engine's sentinel errors are
// *Error values; every error the engine returns wraps at most one of them, so callers
// branch with errors.Is and Code maps any error to its code.
type Error struct {
	code, message, meaning string
}

// Error returns the sentinel's message.
func (e *Error) Error() string { return e.message }

// A sentinel's code, message and meaning (the user-facing explanation the JS API and
// README show) are declared together.
func newError(code, message, meaning string) *Error {
	return &Error{code: code, message: message, meaning: meaning}
}

// The sentinel errors, each with its stable code and the meaning Codes reports.
var (
	ErrNetwork = newError("NETWORK", "tus: network error",
		"no response (connection refused or reset, offline, timeout), still failing after the retries")
	ErrUploadExpired = newError("EXPIRED", "tus: upload expired or not found",
		"the upload URL answered 404 or 410")
	ErrOffsetMismatch = newError("OFFSET_MISMATCH", "tus: offset mismatch",
		"the server kept answering 409")
	ErrProtocol = newError("PROTOCOL", "tus: protocol violation",
		"the server broke the protocol: missing, non-http(s), oversized (> 8 KiB) or credential-bearing `Location`, an offset that goes backwards, past the size or past the bytes offered, a non-numeric offset, a missing or other `Tus-Resumable` (e.g. an HTML page), bytes lost again and again")
	ErrRedirect = newError("REDIRECT", "tus: server redirected the request",
		"the server answered with a redirect; tuswasm never follows one (it would carry your headers somewhere you did not configure): use the final URL as the endpoint")
	ErrFileChanged = newError("FILE_CHANGED", "tus: file changed",
		"the file can no longer be read, its bytes changed during the upload, or its size differs from the server's upload")
	ErrLocked = newError("LOCKED", "tus: file is locked by another upload",
		"another tab or upload holds the file's lock (`useFileLock`)")
	ErrUnsupportedServer = newError("CAPABILITY", "tus: server does not support the request",
		"OPTIONS shows a server that is not a tus 1.0.0 server, or that lacks creation")
	ErrTooLarge = newError("TOO_LARGE", "tus: file larger than the server accepts",
		"the file is larger than the server accepts (`Tus-Max-Size`, the draft's `Upload-Limit` `max-size`, or 413 on creation)")
	ErrHook = newError("HOOK", "tus: a hook failed",
		"a function you passed (a `headers` function, `onBeforeRequest`, `onAfterResponse`, `onShouldRetry`) threw, rejected or did not answer within 10 s; the error's `cause` is what it threw")
	ErrInvalidOption = newError("INVALID_OPTION", "tus: invalid option",
		"bad options: an unknown key or a wrong type, a metadata key with a space, comma or non-ASCII character, a header with CR or LF, a URL that is not http(s), an option the chosen `protocol` lacks")
)

// Rows of the error table that no sentinel carries: never returned, only named.
var (
	codeHTTP = newError("HTTP", "",
		"an unexpected status that cannot be retried (e.g. 401, 403, or a server's 423 that outlasted the retries); `status` and `body` say which")
	codeInternal = newError("INTERNAL", "",
		"a bug in tuswasm, or the module died (its worker was terminated, the Go program exited): the calls in flight fail with it and the next call starts the module again; please report it with the message")
)

// CodeAborted is Code's answer for a cancelled context (a pause). The JS API turns it
// into a DOMException named AbortError rather than a TusError, so Codes leaves it out.
const CodeAborted = "ABORTED"

// CodeInfo is one row of the error table.
type CodeInfo struct{ Code, Meaning string }

// Codes lists every code Code can return for a failure, with its meaning, in the order
// the README's table shows them.
func Codes() []CodeInfo {
	var out []CodeInfo
	for _, e := range []*Error{ErrNetwork, codeHTTP, ErrUploadExpired, ErrOffsetMismatch, ErrProtocol, ErrRedirect,
		ErrFileChanged, ErrLocked, ErrUnsupportedServer, ErrTooLarge, ErrInvalidOption, ErrHook, codeInternal} {
		out = append(out, CodeInfo{e.code, e.meaning})
	}
	return out
}

// Code maps err to its stable code: its sentinel's, "HTTP" for other HTTP replies,
// CodeAborted for cancellation, "" for nil and "INTERNAL" for anything else.
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return CodeAborted
	case errors.Is(err, context.DeadlineExceeded):
		return ErrNetwork.code
	}
	var e *Error
	if errors.As(err, &e) {
		return e.code
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return codeHTTP.code
	}
	return codeInternal.code
}

// HTTPError is an unexpected HTTP status. Statuses with a protocol meaning unwrap to
// their sentinel, so errors.Is works on the class: 404 and 410 on an upload URL are
// ErrUploadExpired, 409 there is ErrOffsetMismatch, and 413 on creation is ErrTooLarge.
// Elsewhere (a 404 on the endpoint, a 413 on a PATCH) they are plain HTTP errors.
type HTTPError struct {
	Method string
	URL    string
	Status int
	// Body is the start of the response body (at most 512 bytes), e.g. tusd's
	// "ERR_UPLOAD_NOT_FOUND: upload not found".
	Body string

	header    http.Header // for Retry-After
	untrusted bool        // from an origin the caller did not configure
}

// Error names the request, the status and the start of the body.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("tus: %s %s: server answered %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Unwrap maps statuses with a protocol meaning onto the sentinel errors.
func (e *HTTPError) Unwrap() error {
	creating := e.Method == http.MethodPost || e.Method == http.MethodOptions
	switch {
	case creating && e.Status == http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case creating:
		return nil
	case e.Status == http.StatusNotFound, e.Status == http.StatusGone:
		return ErrUploadExpired
	case e.Status == http.StatusConflict:
		return ErrOffsetMismatch
	}
	return nil
}

func protocolErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}
