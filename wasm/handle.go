//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"sync"
	"syscall/js"

	"github.com/hack-pad/safejs"
	"github.com/tuswasm/tuswasm/engine"
)

// handle is an engine.Upload as JavaScript holds it: run, create, pause and terminate
// return Promises; dispose lets go of it. One object lives from the first start to the
// end, so a pause and a resume continue the same upload (its URL, the trust the
// caller gave it, a parallel upload's parts) with no bookkeeping in JavaScript.
type handle struct {
	c  *call
	up *engine.Upload

	mu      sync.Mutex
	stop    context.CancelFunc // ends the run in progress (a pause)
	ended   chan struct{}      // closed when that run has returned
	release func()             // lets go of the stream the upload holds (see holdSource)
	funcs   []safejs.Func
}

// newUpload(file, options) makes a handle; options as createAndUpload's, plus
// uploadUrl for an upload to continue.
func newUpload(args []safejs.Value) (any, error) {
	c, err := newCall(arg(args, 0), arg(args, 1))
	if err != nil {
		return nil, err
	}
	up, err := c.upload()
	if err != nil {
		c.close()
		return nil, err
	}
	h := &handle{c: c, up: up}
	if err := h.holdSource(); err != nil {
		c.close()
		return nil, err
	}
	return map[string]any{
		"run":       h.method(h.run),
		"create":    h.method(h.create),
		"pause":     h.method(h.pause),
		"terminate": h.method(h.terminate),
		"dispose":   h.method(h.disposing),
	}, nil
}

// once(file, options, op) runs op ("run" or "create") on a new upload with no handle:
// createAndUpload, create and upload cross into the module once, where a handle costs
// two more crossings (and five functions made and released) per file.
func once(args []safejs.Value) (any, error) {
	op, err := stringArg(args, 2, "the operation")
	if err != nil {
		return nil, err
	}
	if op != "run" && op != "create" {
		return nil, fmt.Errorf("tuswasm: no operation %q", op)
	}
	return withCall(arg(args, 0), arg(args, 1), func(c *call) (any, error) {
		up, err := c.upload()
		if err != nil {
			return nil, err
		}
		release, err := c.hold()
		if err != nil {
			return nil, err
		}
		defer release()
		if op == "create" {
			return up.Create(c.ctx)
		}
		r, err := up.Run(c.ctx)
		return result(r), err
	})
}

// upload makes the call's engine upload: of its file, at its uploadUrl if it has one.
func (c *call) upload() (*engine.Upload, error) {
	if c.src == nil {
		return nil, badOption("a Blob, File or ReadableStream is required")
	}
	return c.client.NewUpload(c.src, engine.UploadURL{URL: c.uploadURL}, c.events)
}

// method is a JS function returning a Promise of what prepare's function returns.
// prepare runs at once, in the call from JavaScript, so that a pause that comes after
// a run (in the order JavaScript called them) always finds the run's context. It is a
// js.Value because safejs.ValueOf does not unwrap safejs types nested in maps.
func (h *handle) method(prepare func() func() (any, error)) js.Value {
	f, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		p, _ := newPromise(prepare())
		return p
	})
	if err != nil {
		return js.Undefined()
	}
	h.mu.Lock()
	h.funcs = append(h.funcs, f)
	h.mu.Unlock()
	return safejs.Unsafe(f.Value())
}

// started begins a run (or a creation): a context a pause cancels, under the
// options' signal.
func (h *handle) started() (context.Context, func()) {
	ctx, stop := context.WithCancel(h.c.ctx)
	ended := make(chan struct{})
	h.mu.Lock()
	h.stop, h.ended = stop, ended
	h.mu.Unlock()
	return ctx, func() {
		stop()
		close(ended)
		collectAfterCall()
	}
}

func (h *handle) run() func() (any, error) {
	ctx, done := h.started()
	return func() (any, error) {
		defer done()
		if err := h.holdSource(); err != nil {
			return nil, err
		}
		r, err := h.up.Run(ctx)
		if paused := ctx.Err() != nil && h.c.ctx.Err() == nil; !paused {
			h.letGo() // the upload has ended: before its Promise settles, so a retry from onError finds the stream free
		}
		return result(r), err
	}
}

func (h *handle) create() func() (any, error) {
	ctx, done := h.started()
	return func() (any, error) {
		defer done()
		if err := h.holdSource(); err != nil {
			return nil, err
		}
		return h.up.Create(ctx)
	}
}

// holdSource makes the upload its stream's one reader (nothing for a Blob) from the
// handle's making, so that another upload given the stream is refused at once while
// this one lives, paused too; it lets go when the upload ends or the handle is
// disposed of, and a run after that holds it again if it is free.
func (h *handle) holdSource() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.release != nil {
		return nil
	}
	release, err := h.c.hold()
	if err == nil {
		h.release = release
	}
	return err
}

func (h *handle) letGo() {
	h.mu.Lock()
	release := h.release
	h.release = nil
	h.mu.Unlock()
	if release != nil {
		release()
	}
}

// pause ends the run in progress and resolves once it has returned.
func (h *handle) pause() func() (any, error) {
	h.mu.Lock()
	stop, ended := h.stop, h.ended
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
	return func() (any, error) {
		if ended != nil {
			<-ended
		}
		return nil, nil
	}
}

// terminate deletes the server's upload and forgets it (see engine.Upload.Terminate).
func (h *handle) terminate() func() (any, error) {
	paused := h.pause()
	return func() (any, error) {
		_, _ = paused()
		// The options' signal does not end a termination: abort({terminate: true})
		// deletes whatever stopped the upload.
		return nil, h.up.Terminate(context.WithoutCancel(h.c.ctx))
	}
}

// disposing lets go of the stream at once, in the call from JavaScript: an upload given
// the stream next (after abort() resolved, or in the same tick) finds it free. The
// Upload disposes of a handle only once its run has ended (see index.js).
func (h *handle) disposing() func() (any, error) {
	h.letGo()
	return h.dispose
}

// dispose releases the handle's functions and the options' listeners.
func (h *handle) dispose() (any, error) {
	_, _ = h.pause()()
	h.letGo()
	h.c.close()
	h.mu.Lock()
	funcs := h.funcs
	h.funcs = nil
	h.mu.Unlock()
	for _, f := range funcs {
		f.Release()
	}
	return nil, nil
}
