//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/hack-pad/safejs"
	"github.com/tuswasm/tuswasm/engine"
)

// The caller's functions, called from the engine's goroutine (never from a JS
// callback, so awaiting a returned Promise is allowed). Each may be sync or async.

// invoke calls fn and awaits its result when it is a Promise (or any thenable). A
// throw or a rejection comes back as an error keeping the thrown value.
func invoke(ctx context.Context, fn safejs.Value, args ...any) (safejs.Value, error) {
	v, err := fn.Invoke(args...)
	if err != nil {
		return safejs.Undefined(), thrown(err)
	}
	if v.Type() == safejs.TypeObject {
		if then, err := v.Get("then"); err == nil && isFunction(then) {
			return await(ctx, v)
		}
	}
	return v, nil
}

// thrown turns a synchronous JS exception (safejs's js.Error) into a *jsError that
// keeps the thrown value, as a rejection is kept.
func thrown(err error) error {
	var je *jsError
	if errors.As(err, &je) {
		return err
	}
	if v, ok := thrownValue(err); ok {
		return jsErrorOf(v)
	}
	return err
}

// notify calls an event callback (onProgress, onCreate, …): its result is ignored, and
// a throw in it is reported on the console instead of failing the upload.
// An async callback's rejection is reported the same way (worker mode does so too),
// never left unhandled.
func (c *call) notify(fn safejs.Value, args ...any) {
	v, err := fn.Invoke(args...)
	if err != nil {
		// thrown, not err.Error(): syscall/js's Error() panics on a thrown string.
		if console, cerr := safejs.Global().Get("console"); cerr == nil {
			_, _ = console.Call("error", "tuswasm: a callback threw:", thrown(err).Error())
		}
		return
	}
	if v.Type() == safejs.TypeObject {
		if then, err := v.Get("then"); err == nil && isFunction(then) {
			_, _ = then.Call("call", v, safejs.Undefined(), callbackRejected())
		}
	}
}

var (
	onRejectedOnce sync.Once
	onRejected     safejs.Value
)

// callbackRejected is the one function (never released) that reports an event
// callback's rejection on the console.
func callbackRejected() safejs.Value {
	onRejectedOnce.Do(func() {
		f, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
			if console, cerr := safejs.Global().Get("console"); cerr == nil {
				_, _ = console.Call("error", "tuswasm: a callback threw:", jsErrorOf(arg(args, 0)).Error())
			}
			return nil
		})
		if err == nil {
			onRejected = f.Value()
		} else {
			onRejected = safejs.Undefined()
		}
	})
	return onRejected
}

// readHeaders: headers is an object (sent as it is) or a function returning one.
func readHeaders(c *call, v safejs.Value) error {
	if isObject(v) {
		m, err := stringMap(v, "headers")
		c.client.Headers = header(m)
		return err
	}
	c.client.HeadersFunc = func(ctx context.Context) (http.Header, error) {
		r, err := invoke(ctx, v)
		if err != nil {
			return nil, err
		}
		if isNullish(r) {
			return nil, nil
		}
		if !isObject(r) {
			return nil, fmt.Errorf("the headers function returned %s, not an object of strings", describe(r))
		}
		m, err := stringMap(r, "headers")
		return header(m), err
	}
	return nil
}

// jsHeaders is h as a plain object (one value per name, as fetch's Headers shows).
func jsHeaders(h http.Header) map[string]any {
	o := make(map[string]any, len(h))
	for k, vs := range h {
		o[k] = strings.Join(vs, ", ")
	}
	return o
}

// requestObject is what onBeforeRequest and onAfterResponse see of a request.
func requestObject(req *http.Request) (safejs.Value, error) {
	return safejs.ValueOf(map[string]any{"method": req.Method, "url": req.URL.String(), "headers": jsHeaders(req.Header)})
}

// readBeforeRequest: onBeforeRequest(req) may change req.headers (add, change, delete);
// the request goes out with them once it returns (or its Promise resolves).
func readBeforeRequest(c *call, fn safejs.Value) error {
	c.client.BeforeRequest = func(req *http.Request) error {
		obj, err := requestObject(req)
		if err != nil {
			return err
		}
		if _, err := invoke(req.Context(), fn, obj); err != nil {
			return err
		}
		hv, err := obj.Get("headers")
		if err != nil || !isObject(hv) {
			return fmt.Errorf("onBeforeRequest left req.headers as %s, not an object of strings", describe(hv))
		}
		m, err := stringMap(hv, "req.headers")
		if err != nil {
			return err
		}
		req.Header = header(m) // the engine checks what it is left with
		return nil
	}
	return nil
}

// readAfterResponse: onAfterResponse(req, res) sees res.status, res.headers and, for
// error statuses, the start of res.body.
func readAfterResponse(c *call, fn safejs.Value) error {
	c.client.AfterResponse = func(req *http.Request, resp *http.Response) error {
		reqObj, err := requestObject(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		res, err := safejs.ValueOf(map[string]any{"status": resp.StatusCode, "headers": jsHeaders(resp.Header), "body": string(body)})
		if err != nil {
			return err
		}
		_, err = invoke(req.Context(), fn, reqObj, res)
		return err
	}
	return nil
}

// readShouldRetry: onShouldRetry(err, attempt) returns true to retry, false to stop,
// or nothing (undefined) for the default decision. A throw, a rejection or no answer
// within the hook bound ends the call with HOOK.
func readShouldRetry(c *call, fn safejs.Value) error {
	c.client.ShouldRetry = func(ctx context.Context, err error, attempt int) (bool, error) {
		e, cerr := jsTusError(err)
		if cerr != nil {
			return false, cerr
		}
		v, cerr := invoke(ctx, fn, e, attempt)
		switch {
		case cerr != nil:
			return false, cerr
		case v.IsUndefined():
			return engine.Recoverable(err), nil
		}
		return isTrue(v), nil
	}
	return nil
}

// readFingerprint sets the engine's FingerprintFunc to the caller's fingerprint
// function: index.js has bound it to the file and options as tus-js-client passes
// them. A string names the file; null or undefined keeps the upload out of storage.
func readFingerprint(c *call, fn safejs.Value) error {
	c.client.FingerprintFunc = func(ctx context.Context, _ engine.File) (string, error) {
		v, err := invoke(ctx, fn)
		switch {
		case err != nil:
			return "", err
		case isNullish(v):
			return "", nil
		case !isString(v):
			return "", fmt.Errorf("fingerprint returned %s, want a string", describe(v))
		}
		return v.String()
	}
	return nil
}
