//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/hack-pad/safejs"
	"github.com/tuswasm/tuswasm/engine"
)

// webLock is an exclusive Web Lock (navigator.locks) named after the upload's
// fingerprint, so two tabs never upload the same file to the same endpoint at once.
type webLock struct {
	name string
	wait bool // wait for the holder instead of failing with ErrLocked
}

func (l *webLock) acquire(ctx context.Context) (func(), error) {
	locks, err := safejs.Global().Get("navigator")
	if err == nil {
		locks, err = locks.Get("locks")
	}
	if err != nil || isNullish(locks) {
		return nil, fmt.Errorf("%w: useFileLock needs the Web Locks API (navigator.locks), which this context lacks", engine.ErrInvalidOption)
	}
	got := make(chan bool, 1)
	var release safejs.Value // resolves the promise the lock callback returned
	cb, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		if isNullish(arg(args, 0)) { // ifAvailable and held elsewhere
			got <- false
			return nil
		}
		var exec safejs.Func
		exec, _ = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
			release = arg(args, 0)
			exec.Release()
			return nil
		})
		p, _ := jsPromise.New(exec)
		got <- true
		return p // the lock is held until this promise resolves
	})
	if err != nil {
		return nil, err
	}
	ac, _ := jsAbortController.New()
	signal, _ := ac.Get("signal")
	opts := map[string]any{"mode": "exclusive"}
	if l.wait {
		opts["signal"] = safejs.Unsafe(signal)
	} else {
		opts["ifAvailable"] = true
	}
	optsV, _ := safejs.ValueOf(opts)
	p, err := locks.Call("request", l.name, optsV, cb)
	if err != nil {
		cb.Release()
		return nil, fmt.Errorf("navigator.locks.request: %w", err)
	}
	// The request's promise settles when the lock is released, or at once when the
	// request is aborted before the grant (then cb never runs). Either way cb is done
	// with, and observing the promise keeps an abort's rejection from being unhandled.
	settled := make(chan struct{})
	go func() {
		_, _ = await(context.Background(), p)
		cb.Release()
		close(settled)
	}()
	select {
	case ok := <-got:
		if !ok {
			return nil, fmt.Errorf("%w (Web Lock %q)", engine.ErrLocked, l.name)
		}
		return func() { _, _ = release.Invoke() }, nil
	case <-ctx.Done():
		_, _ = ac.Call("abort")
		select {
		case ok := <-got: // granted just before the abort: give it back
			if ok {
				_, _ = release.Invoke()
			}
		case <-settled: // the wait ended without a grant
		}
		return nil, ctx.Err()
	}
}

// pageLocks serialises the calls of this page (or worker) that upload the same file to
// the same endpoint while storage is on: without it a second call resumes the upload
// the first is still sending, and the first's progress then looks like a server lying
// about its offset. The second call waits for the first to end (an abort ends the
// wait), then continues what it left, or uploads again if it completed. useFileLock's
// Web Lock does the same across tabs, failing instead of waiting by default.
var pageLocks = struct {
	sync.Mutex
	held map[string]chan struct{}
}{held: map[string]chan struct{}{}}

func pageLock(ctx context.Context, key string) (func(), error) {
	for {
		pageLocks.Lock()
		busy, taken := pageLocks.held[key]
		if !taken {
			done := make(chan struct{})
			pageLocks.held[key] = done
			pageLocks.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					pageLocks.Lock()
					delete(pageLocks.held, key)
					pageLocks.Unlock()
					close(done)
				})
			}, nil
		}
		pageLocks.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
