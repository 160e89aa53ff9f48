//go:build js && wasm

// Command wasm is tuswasm's browser build: it exposes the engine to js/index.js as
// globalThis.__tuswasm, an object of functions that each return a Promise.
package main

import (
	"context"
	"fmt"
	"net/http"
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
		"findPreviousUploads": export(findPreviousUploads),
		"listUploads":         export(listUploads),
		"removeUpload":        export(removeUpload),
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

// call is one API call: the engine client built from the JS options, the file, and a
// context cancelled by the options' AbortSignal.
type call struct {
	client  *engine.Client
	file    *blobFile
	ctx     context.Context
	cleanup []func()
}

func (c *call) close() {
	for _, f := range c.cleanup {
		f()
	}
}

func newCall(fileV, opts safejs.Value) (*call, error) {
	c := &call{ctx: context.Background()}
	if isNullish(opts) {
		opts, _ = jsObject.New()
	}
	ok := false
	defer func() {
		if !ok {
			c.close()
		}
	}()
	cl := &engine.Client{}
	c.client = cl
	var err error
	bad := func(err error) error { return fmt.Errorf("%w: %w", errBadOption, err) }
	if cl.Endpoint, err = getString(opts, "endpoint"); err != nil {
		return nil, bad(err)
	}
	if cl.Metadata, err = stringMap(opts, "metadata"); err != nil {
		return nil, bad(err)
	}
	hdr, err := stringMap(opts, "headers")
	if err != nil {
		return nil, bad(err)
	}
	if len(hdr) > 0 {
		cl.Headers = http.Header{}
		for k, v := range hdr {
			cl.Headers.Set(k, v)
		}
	}
	if n, set, err := getNumber(opts, "chunkSize"); err != nil || (set && n < 1) {
		return nil, bad(fmt.Errorf("chunkSize must be a positive number of bytes"))
	} else if set {
		cl.ChunkSize = int64(min(n, 1<<40))
	}
	if adaptive, err := opts.Get("adaptiveChunkSize"); err == nil && adaptive.Type() == safejs.TypeBoolean {
		b, _ := adaptive.Bool()
		cl.FixedChunkSize = !b
	}
	if ms, set, err := getNumber(opts, "requestTimeoutMs"); err != nil {
		return nil, bad(err)
	} else if set && ms > 0 {
		cl.RequestTimeout = time.Duration(ms * float64(time.Millisecond))
	}
	if cl.CheckServerCapabilities, err = getBool(opts, "checkServerCapabilities"); err != nil {
		return nil, bad(err)
	}
	if cl.UseFileLock, err = getBool(opts, "useFileLock"); err != nil {
		return nil, bad(err)
	}
	if err := readRetry(opts, &cl.Retry); err != nil {
		return nil, bad(err)
	}
	if origins, err := opts.Get("allowedOrigins"); err == nil && !isNullish(origins) {
		n, err := origins.Length()
		if err != nil {
			return nil, bad(fmt.Errorf("allowedOrigins must be an array of origins"))
		}
		for i := range n {
			o, _ := origins.Index(i)
			s, err := o.String()
			if err != nil {
				return nil, bad(err)
			}
			cl.AllowedOrigins = append(cl.AllowedOrigins, s)
		}
	}
	switch v, _ := getString(opts, "onExpired"); v {
	case "", "error":
	case "recreate":
		cl.OnExpired = engine.ExpiredRecreate
	default:
		return nil, bad(fmt.Errorf("onExpired must be 'error' or 'recreate', not %q", v))
	}
	if cl.Store, err = readStorage(opts); err != nil {
		return nil, bad(err)
	}
	if fn, ok, err := getFunc(opts, "onCreate"); err != nil {
		return nil, bad(err)
	} else if ok {
		cl.OnCreate = func(u string) { _, _ = fn.Invoke(u) }
	}
	if fn, ok, err := getFunc(opts, "onProgress"); err != nil {
		return nil, bad(err)
	} else if ok {
		cl.OnProgress = func(sent, total int64) { _, _ = fn.Invoke(float64(sent), float64(total)) }
	}
	credentials, _ := getString(opts, "credentials")
	switch credentials {
	case "", "omit", "same-origin", "include":
	default:
		return nil, bad(fmt.Errorf("credentials must be 'omit', 'same-origin' or 'include', not %q", credentials))
	}
	// Redirects surface as 3xx/opaque replies the engine reports (ErrRedirect).
	cl.Transport = &fetchTransport{credentials: credentials}
	cl.WaitOnline = waitOnline

	if !isNullish(fileV) {
		if c.file, err = newBlobFile(fileV); err != nil {
			return nil, err
		}
		if cl.UseFileLock {
			wait, _ := getBool(opts, "waitForLock")
			c.file.lock = &webLock{name: "tuswasm:" + engine.Fingerprint(c.file.name, c.file.size, c.file.modTime, cl.Endpoint), wait: wait}
		}
	}
	if err := c.watchSignal(opts); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

func readRetry(opts safejs.Value, r *engine.Retry) error {
	rv, err := opts.Get("retry")
	if err != nil || isNullish(rv) {
		return err
	}
	if n, set, err := getNumber(rv, "maxRetries"); err != nil {
		return err
	} else if set {
		r.MaxRetries = int(n)
		if n <= 0 {
			r.MaxRetries = -1 // the engine's zero means "default"; JS's 0 means none
		}
	}
	ms := func(key string) (time.Duration, error) {
		n, _, err := getNumber(rv, key)
		return time.Duration(n * float64(time.Millisecond)), err
	}
	if r.InitialDelay, err = ms("initialDelayMs"); err != nil {
		return err
	}
	if r.MaxDelay, err = ms("maxDelayMs"); err != nil {
		return err
	}
	r.Factor, _, err = getNumber(rv, "factor")
	return err
}

// memoryStore backs storage: 'memory': upload URLs live as long as the page (retries,
// pause and resume) and are never written anywhere.
var memoryStore = engine.NewMemoryStore()

// readStorage: undefined → localStorage; false or null → none; 'memory' → this page's
// memory only; an object → its async get/set/remove/list methods.
func readStorage(opts safejs.Value) (engine.Store, error) {
	v, err := opts.Get("storage")
	if err != nil {
		return nil, err
	}
	switch {
	case v.Type() == safejs.TypeString:
		if s, _ := v.String(); s == "memory" {
			return memoryStore, nil
		}
	case v.IsUndefined():
		if s := newLocalStore(); s != nil {
			return s, nil
		}
		return nil, nil
	case v.IsNull(), v.Type() == safejs.TypeBoolean:
		if b, _ := v.Bool(); b {
			return newLocalStore(), nil
		}
		return nil, nil
	case v.Type() == safejs.TypeObject:
		for _, m := range []string{"get", "set", "remove", "list"} {
			if _, ok, err := getFunc(v, m); err != nil || !ok {
				return nil, fmt.Errorf("storage object needs a %s method", m)
			}
		}
		return jsStore{obj: v}, nil
	}
	return nil, fmt.Errorf("storage must be false, null, 'memory' or an object")
}

// watchSignal cancels the call's context when the options' AbortSignal fires.
func (c *call) watchSignal(opts safejs.Value) error {
	sig, err := opts.Get("signal")
	if err != nil || isNullish(sig) {
		return err
	}
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
		return fmt.Errorf("%w: signal must be an AbortSignal", errBadOption)
	}
	c.cleanup = append(c.cleanup, func() {
		_, _ = sig.Call("removeEventListener", "abort", onAbort)
		onAbort.Release()
	})
	return nil
}

func result(r engine.Result) map[string]any {
	return map[string]any{"url": r.URL, "size": float64(r.Size), "resumed": r.Resumed}
}

// withFile runs fn with the call built from (file, options), and requires the file.
func withFile(args []safejs.Value, fn func(c *call) (any, error)) (any, error) {
	return withCall(arg(args, 0), arg(args, 1), func(c *call) (any, error) {
		if c.file == nil {
			return nil, fmt.Errorf("%w: a Blob or File is required", errBadOption)
		}
		return fn(c)
	})
}

// withCall runs fn with the call built from fileV (may be undefined) and opts.
func withCall(fileV, opts safejs.Value, fn func(c *call) (any, error)) (any, error) {
	c, err := newCall(fileV, opts)
	if err != nil {
		return nil, err
	}
	defer c.close()
	// JS objects a call touched (fetch responses, Blob slices) stay alive while Go
	// holds references to them, and those go only when a GC runs their finalizers; Go's
	// heap is so small that it rarely would. One GC per call keeps a long-lived page's
	// wasm and JS memory flat.
	defer collectSoon()
	return fn(c)
}

func createAndUpload(args []safejs.Value) (any, error) {
	return withFile(args, func(c *call) (any, error) {
		r, err := c.client.CreateAndUpload(c.ctx, c.file)
		return result(r), err
	})
}

func create(args []safejs.Value) (any, error) {
	return withFile(args, func(c *call) (any, error) {
		return c.client.Create(c.ctx, c.file)
	})
}

func upload(args []safejs.Value) (any, error) {
	return withFile(args, func(c *call) (any, error) {
		u, err := getString(arg(args, 1), "uploadUrl")
		if err != nil || u == "" {
			return nil, fmt.Errorf("%w: uploadUrl is required", errBadOption)
		}
		r, err := c.client.Upload(c.ctx, c.file, u)
		return result(r), err
	})
}

func findPreviousUploads(args []safejs.Value) (any, error) {
	return withFile(args, func(c *call) (any, error) {
		list, err := c.client.FindPreviousUploads(c.ctx, c.file)
		return storedToJS(list), err
	})
}

// stringArg reads a required string argument.
func stringArg(args []safejs.Value, i int, what string) (string, error) {
	v := arg(args, i)
	if v.Type() != safejs.TypeString {
		return "", fmt.Errorf("%w: %s must be a string", errBadOption, what)
	}
	return v.String()
}

func terminate(args []safejs.Value) (any, error) {
	u, err := stringArg(args, 0, "the upload URL")
	if err != nil {
		return nil, err
	}
	return withCall(safejs.Undefined(), arg(args, 1), func(c *call) (any, error) {
		return nil, c.client.Terminate(c.ctx, u)
	})
}

func listUploads(args []safejs.Value) (any, error) {
	return withCall(safejs.Undefined(), arg(args, 0), func(c *call) (any, error) {
		if c.client.Store == nil {
			return []any{}, nil
		}
		list, err := c.client.Store.List(c.ctx)
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
