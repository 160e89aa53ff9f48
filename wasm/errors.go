//go:build js && wasm

package main

import (
	"context"
	"errors"

	"github.com/tuswasm/tuswasm/engine"
)

// errorCode maps an engine error to the stable code the JS API documents. The order
// matters: an HTTPError 404 is both HTTP and EXPIRED, and EXPIRED is the useful one.
func errorCode(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "ABORTED"
	case errors.Is(err, engine.ErrLocked):
		return "LOCKED"
	case errors.Is(err, engine.ErrFileChanged):
		return "FILE_CHANGED"
	case errors.Is(err, engine.ErrUploadExpired):
		return "EXPIRED"
	case errors.Is(err, engine.ErrOffsetMismatch):
		return "OFFSET_MISMATCH"
	case errors.Is(err, engine.ErrTooLarge):
		return "TOO_LARGE"
	case errors.Is(err, engine.ErrUnsupportedServer):
		return "CAPABILITY"
	case errors.Is(err, engine.ErrInvalidOption), errors.Is(err, errBadOption):
		return "INVALID_OPTION"
	case errors.Is(err, engine.ErrRedirect):
		return "REDIRECT"
	case errors.Is(err, engine.ErrProtocol):
		return "PROTOCOL"
	case errors.Is(err, engine.ErrNetwork), errors.Is(err, context.DeadlineExceeded):
		return "NETWORK"
	}
	var he *engine.HTTPError
	if errors.As(err, &he) {
		return "HTTP"
	}
	return "INTERNAL"
}

var errBadOption = errors.New("invalid option")

// errorToJS is the plain object a promise rejects with; js/index.js turns it into a
// TusError (or an AbortError DOMException for ABORTED).
func errorToJS(err error) map[string]any {
	o := map[string]any{"code": errorCode(err), "message": err.Error()}
	var he *engine.HTTPError
	if errors.As(err, &he) {
		o["status"] = he.Status
		o["body"] = he.Body
	}
	return o
}
