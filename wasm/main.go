//go:build js && wasm

// Command wasm is tuswasm's browser build: it exposes the engine to js/host.js as
// globalThis.__tuswasm, an object of functions that each return a Promise (or, for
// newUpload, an upload handle whose methods do).
package main

import (
	"context"
	"fmt"
	"runtime"
	"syscall/js"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/tuswasm/tuswasm/engine"
)

func main() {
	if err := takeHost(); err != nil {
		panic(err) // host.js reports that the Go program did not start
	}
	api := map[string]any{
		"newUpload":           exportSync(newUpload),
		"once":                export(once),
		"terminate":           export(terminate),
		"findPreviousUploads": export(findPreviousUploads),
		"listUploads":         export(listUploads),
		"removeUpload":        export(removeUpload),
		"stats":               exportSync(func([]safejs.Value) (any, error) { return stats(), nil }),
		"optionKeys":          exportSync(func([]safejs.Value) (any, error) { return optionKeys(), nil }),
	}
	v, err := safejs.ValueOf(api)
	if err == nil {
		err = safejs.Global().Set("__tuswasm", v)
	}
	if err != nil {
		panic(err) // nothing can work; wasm_exec reports it and host.js sees no API
	}
	select {} // keep the exported functions alive
}

// export wraps fn as a JS function returning a Promise. It returns a js.Value because
// safejs.ValueOf does not unwrap safejs types nested in maps.
func export(fn func(args []safejs.Value) (any, error)) js.Value {
	f, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		p, err := newPromise(func() (any, error) { return fn(args) })
		if err != nil {
			return nil
		}
		return p
	})
	if err != nil {
		panic(err)
	}
	return safejs.Unsafe(f.Value())
}

// exportSync wraps fn, which must not block, as a plain JS function; an error is
// thrown as the plain error object host.js converts.
func exportSync(fn func(args []safejs.Value) (any, error)) js.Value {
	f, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		v, err := fn(args)
		if err != nil {
			return map[string]any{"error": errorToJS(err)}
		}
		jv, err := safejs.ValueOf(v)
		if err != nil {
			return map[string]any{"error": errorToJS(err)}
		}
		return safejs.Unsafe(jv)
	})
	if err != nil {
		panic(err)
	}
	return safejs.Unsafe(f.Value())
}

// stats reports the Go side's live goroutines (a leak shows here first).
func stats() map[string]any {
	return map[string]any{"goroutines": runtime.NumGoroutine()}
}

// offers is what this page (or worker) offered to each upload, from call to call: a
// server that stores an aborted request's body late is then not taken for a liar.
var offers = engine.NewOffers()

// call is the setup of one exported call: the engine client built from the JS options
// (host.js has checked them), the file, the upload's callbacks and a context that the
// options' AbortSignal cancels.
type call struct {
	client     *engine.Client
	events     engine.Events
	src        engine.Source // a *blobFile or a *jsStream
	ctx        context.Context
	cleanup    []func()
	uploadURL  string
	useLock    bool
	waitLock   bool
	uploadSize int64 // -1 when not given
	storageSet bool  // the storage option was given (else the default)
}

func (c *call) close() {
	for _, f := range c.cleanup {
		f()
	}
}

// newCall builds the call from its file (may be undefined) and options.
func newCall(fileV, opts safejs.Value) (*call, error) {
	c := &call{ctx: context.Background(), client: &engine.Client{}, uploadSize: -1}
	ok := false
	defer func() {
		if !ok {
			c.close()
		}
	}()
	if err := readOptions(c, opts); err != nil {
		return nil, err
	}
	if !c.storageSet {
		c.client.Store = hostStorage("default")
	}
	c.client.Transport = &fetchTransport{}
	c.client.Offers = offers
	c.client.WaitOnline = waitOnline
	switch {
	case c.useLock:
		wait := c.waitLock
		c.client.Lock = func(ctx context.Context, fingerprint string) (func(), error) {
			return (&webLock{name: "tuswasm:" + fingerprint, wait: wait}).acquire(ctx)
		}
	case c.client.Store != nil:
		c.client.Lock = pageLock
	}
	if err := c.source(fileV); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// source reads the call's first argument: a Blob (or File), a ReadableStream, or
// nothing (calls that take none).
func (c *call) source(v safejs.Value) error {
	switch {
	case isNullish(v):
		return nil
	case isReadableStream(v):
		if c.useLock {
			return badOption("useFileLock applies to a Blob or File, not a stream")
		}
		s, err := newJSStream(v, c.uploadSize)
		c.src = s
		return err
	}
	f, err := newBlobFile(v)
	if err != nil {
		return err
	}
	if c.uploadSize >= 0 && c.uploadSize != f.size {
		return badOption("uploadSize %d differs from the Blob's size %d (it is for streams)", c.uploadSize, f.size)
	}
	c.src = f
	return nil
}

// withCall runs fn with the call built from fileV (may be undefined) and opts, and
// releases it after.
func withCall(fileV, opts safejs.Value, fn func(c *call) (any, error)) (any, error) {
	c, err := newCall(fileV, opts)
	if err != nil {
		return nil, err
	}
	defer c.close()
	// JS objects a call touched (fetch responses, Blob slices) stay alive while Go
	// holds references to them, and those go only when a GC runs their finalizers; Go's
	// heap is so small that it rarely would. A GC after calls (paced) keeps a long-lived
	// page's wasm and JS memory flat.
	defer collectAfterCall()
	return fn(c)
}

func result(r engine.Result) map[string]any {
	o := map[string]any{"url": r.URL, "size": float64(r.Size), "resumed": r.Resumed}
	if !r.ExpiresAt.IsZero() {
		o["expiresAt"] = r.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if r.StoreFailed {
		o["storageFailed"] = true
	}
	if r.Parts > 0 {
		o["parts"] = r.Parts
	}
	return o
}

// stringArg reads a required string argument.
func stringArg(args []safejs.Value, i int, what string) (string, error) {
	v := arg(args, i)
	if !isString(v) {
		return "", badOption("%s must be a string, not %s", what, describe(v))
	}
	return v.String()
}

func terminate(args []safejs.Value) (any, error) {
	u, err := stringArg(args, 0, "the upload URL")
	if err != nil {
		return nil, err
	}
	return withCall(safejs.Undefined(), arg(args, 1), func(c *call) (any, error) {
		return nil, c.client.Terminate(c.ctx, engine.UploadURL{URL: u})
	})
}

func findPreviousUploads(args []safejs.Value) (any, error) {
	return withCall(arg(args, 0), arg(args, 1), func(c *call) (any, error) {
		f, ok := c.src.(*blobFile)
		if !ok {
			return nil, badOption("findPreviousUploads takes a Blob or File (a stream is never stored)")
		}
		list, err := c.client.FindPreviousUploads(c.ctx, f)
		return storedToJS(list), err
	})
}

func listUploads(args []safejs.Value) (any, error) {
	return withCall(safejs.Undefined(), arg(args, 0), func(c *call) (any, error) {
		list, err := c.client.ListUploads(c.ctx)
		return storedToJS(list), err
	})
}

func removeUpload(args []safejs.Value) (any, error) {
	fp, err := stringArg(args, 0, "the fingerprint")
	if err != nil {
		return nil, err
	}
	return withCall(safejs.Undefined(), arg(args, 1), func(c *call) (any, error) {
		if c.client.Store == nil {
			return nil, nil
		}
		return nil, c.client.Store.Delete(c.ctx, fp)
	})
}

func storedToJS(list []engine.StoredUpload) []any {
	out := make([]any, 0, len(list))
	for _, u := range list {
		out = append(out, storedObject(u))
	}
	return out
}

// watchSignal cancels the call's context when the AbortSignal fires.
func (c *call) watchSignal(sig safejs.Value) error {
	ctx, cancel := context.WithCancel(c.ctx)
	c.ctx = ctx
	c.cleanup = append(c.cleanup, cancel)
	if aborted, _ := getBool(sig, "aborted"); aborted {
		cancel()
		return nil
	}
	onAbort, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		cancel()
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := sig.Call("addEventListener", "abort", onAbort); err != nil {
		onAbort.Release()
		return fmt.Errorf("signal.addEventListener: %w", err)
	}
	c.cleanup = append(c.cleanup, func() {
		_, _ = sig.Call("removeEventListener", "abort", onAbort)
		onAbort.Release()
	})
	return nil
}
