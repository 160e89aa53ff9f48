//go:build js && wasm

// Command wasm is tuswasm's browser build: it exposes the engine to js/index.js as
// globalThis.__tuswasm, an object of functions that each return a Promise.
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
		panic(err) // index.js reports that the Go program did not start
	}
	api := map[string]any{
		"createAndUpload":     export(createAndUpload),
		"create":              export(create),
		"upload":              export(upload),
		"terminate":           export(terminate),
		"terminateStored":     export(terminateStored),
		"findPreviousUploads": export(findPreviousUploads),
		"listUploads":         export(listUploads),
		"removeUpload":        export(removeUpload),
		"stats":               exportSync(stats),
		"optionKeys":          exportSync(func() any { return optionKeys() }),
	}
	v, err := safejs.ValueOf(api)
	if err == nil {
		err = safejs.Global().Set("__tuswasm", v)
	}
	if err != nil {
		panic(err) // nothing can work; wasm_exec reports it and index.js sees no API
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

// exportSync wraps fn, which must not block, as a plain JS function.
func exportSync(fn func() any) js.Value {
	f, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		v, err := safejs.ValueOf(fn())
		if err != nil {
			return nil
		}
		return safejs.Unsafe(v)
	})
	if err != nil {
		panic(err)
	}
	return safejs.Unsafe(f.Value())
}

// stats reports the Go side's live goroutines (a leak shows here first).
func stats() any {
	return map[string]any{"goroutines": runtime.NumGoroutine()}
}

// offers is what this page (or worker) offered to each upload, from call to call: a
// server that stores an aborted request's body late is then not taken for a liar.
var offers = engine.NewOffers()

// call is one API call: the engine client built from the JS options, the file, and a
// context cancelled by the options' AbortSignal.
type call struct {
	client      *engine.Client
	src         engine.Source // a *blobFile or a *jsStream
	ctx         context.Context
	cleanup     []func()
	uploadURL   string
	credentials string
	useLock     bool
	waitLock    bool
	uploadSize  int64 // -1 when not given
	storageSet  bool  // the storage option was given (else the default)
}

func (c *call) close() {
	for _, f := range c.cleanup {
		f()
	}
}

// newCall builds the call for the exported function in from its file (may be
// undefined), options and index.js's internal argument (see internalArg).
func newCall(in scope, fileV, opts, internal safejs.Value) (*call, error) {
	c := &call{ctx: context.Background(), client: &engine.Client{}, uploadSize: -1}
	ok := false
	defer func() {
		if !ok {
			c.close()
		}
	}()
	subset, _ := getBool(internal, "subset")
	if err := readOptions(c, in, opts, subset); err != nil {
		return nil, err
	}
	if !c.storageSet {
		c.client.Store = hostStorage("default")
	}
	if c.waitLock && !c.useLock {
		return nil, badOption("waitForLock needs useFileLock: true")
	}
	// Redirects surface as 3xx/opaque replies the engine reports (ErrRedirect).
	c.client.Transport = &fetchTransport{credentials: c.credentials}
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

// after is args from i on (none when there are fewer).
func after(args []safejs.Value, i int) []safejs.Value {
	if i >= len(args) {
		return nil
	}
	return args[i:]
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

// withSource runs fn with the call built from (source, options, internal), and
// requires the source: a Blob, a File or a ReadableStream.
func withSource(in scope, args []safejs.Value, fn func(c *call) (any, error)) (any, error) {
	return withCall(in, arg(args, 0), after(args, 1), func(c *call) (any, error) {
		if c.src == nil {
			return nil, badOption("a Blob, File or ReadableStream is required")
		}
		return fn(c)
	})
}

// withCall runs fn with the call built from fileV (may be undefined) and rest, the
// arguments (options, internal) that follow the file or string argument.
func withCall(in scope, fileV safejs.Value, rest []safejs.Value, fn func(c *call) (any, error)) (any, error) {
	c, err := newCall(in, fileV, arg(rest, 0), arg(rest, 1))
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

// fromServer reads index.js's internal argument, {fromServer, subset}, which only its
// Upload class passes: fromServer marks an upload URL a server gave (what
// onUploadUrlAvailable reported), which must not extend trust to its origin.
func fromServer(internal safejs.Value) bool {
	b, _ := getBool(internal, "fromServer")
	return b
}

func createAndUpload(args []safejs.Value) (any, error) {
	return withSource(inCreateAndUpload, args, func(c *call) (any, error) {
		r, err := c.client.CreateAndUpload(c.ctx, c.src)
		return result(r), err
	})
}

func create(args []safejs.Value) (any, error) {
	return withSource(inCreate, args, func(c *call) (any, error) {
		return c.client.Create(c.ctx, c.src)
	})
}

func upload(args []safejs.Value) (any, error) {
	return withSource(inUpload, args, func(c *call) (any, error) {
		if c.uploadURL == "" {
			return nil, badOption("uploadUrl is required")
		}
		r, err := c.client.Upload(c.ctx, c.src, engine.UploadURL{URL: c.uploadURL, FromServer: fromServer(arg(args, 2))})
		return result(r), err
	})
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
	return withCall(inTerminate, safejs.Undefined(), after(args, 1), func(c *call) (any, error) {
		return nil, c.client.Terminate(c.ctx, engine.UploadURL{URL: u, FromServer: fromServer(arg(args, 2))})
	})
}

// terminateStored is index.js's Upload.abort({terminate: true}) before it knows an
// upload URL (a parallel upload's parts): it deletes what storage keeps for the file.
func terminateStored(args []safejs.Value) (any, error) {
	return withSource(inTerminate, args, func(c *call) (any, error) {
		f, ok := c.src.(*blobFile)
		if !ok {
			return nil, nil // a stream is never stored
		}
		return nil, c.client.TerminateStored(c.ctx, f)
	})
}

func findPreviousUploads(args []safejs.Value) (any, error) {
	return withSource(inFind, args, func(c *call) (any, error) {
		f, ok := c.src.(*blobFile)
		if !ok {
			return nil, badOption("a stream is never stored: findPreviousUploads takes a Blob or File")
		}
		list, err := c.client.FindPreviousUploads(c.ctx, f)
		return storedToJS(list), err
	})
}

func listUploads(args []safejs.Value) (any, error) {
	return withCall(inList, safejs.Undefined(), args, func(c *call) (any, error) {
		list, err := c.client.ListUploads(c.ctx)
		return storedToJS(list), err
	})
}

func removeUpload(args []safejs.Value) (any, error) {
	fp, err := stringArg(args, 0, "the fingerprint")
	if err != nil {
		return nil, err
	}
	return withCall(inRemove, safejs.Undefined(), after(args, 1), func(c *call) (any, error) {
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
