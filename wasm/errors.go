//go:build js && wasm

package main

import (
	"errors"

	"github.com/hack-pad/safejs"
	"github.com/tuswasm/tuswasm/engine"
)

// errorToJS is the plain object a promise rejects with; js/errors.js turns it into a
// TusError (or an AbortError DOMException for ABORTED). The code is the engine's
// (engine.Code): the one table of codes, which a test holds errors.js, index.d.ts and
// the README to. When a caller's function threw, cause is what it threw.
func errorToJS(err error) map[string]any {
	o := map[string]any{"code": engine.Code(err), "message": err.Error()}
	var he *engine.HTTPError
	if errors.As(err, &he) {
		o["status"] = he.Status
		o["body"] = he.Body
	}
	var je *jsError
	if errors.As(err, &je) && !je.value.IsUndefined() {
		o["cause"] = safejs.Unsafe(je.value)
	}
	return o
}

// jsTusError is err as the TusError (or AbortError) the caller would see, for hooks
// that receive errors (onShouldRetry).
func jsTusError(err error) (safejs.Value, error) {
	obj, verr := safejs.ValueOf(errorToJS(err))
	if verr != nil {
		return safejs.Undefined(), verr
	}
	return jsMakeError.Invoke(obj)
}
