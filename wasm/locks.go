//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/tuswasm/tuswasm/engine"
)

// webLock is an exclusive Web Lock (navigator.locks) named after the upload's
// fingerprint, so two tabs never upload the same file to the same endpoint at once.
// core.js's lock holds it in JavaScript, where the Go program's end releases it too.
type webLock struct {
	name string
	wait bool // wait for the holder instead of failing with ErrLocked
}

func (l *webLock) acquire(ctx context.Context) (func(), error) {
	ac, _ := jsAbortController.New()
	signal, _ := ac.Get("signal")
	p, err := jsLock.Invoke(l.name, l.wait, signal)
	if err != nil {
		return nil, fmt.Errorf("navigator.locks.request: %w", thrown(err))
	}
	release, err := await(ctx, p)
	if ctx.Err() != nil {
		_, _ = ac.Call("abort")
		// Granted just before the abort: give it back once the answer comes.
		go func() {
			if r, err := await(context.Background(), p); err == nil && isFunction(r) {
				_, _ = r.Invoke()
			}
		}()
		return nil, ctx.Err()
	}
	if err != nil {
		// core.js's lock decides whether this context has locks (navigator.locks, or the
		// in-process fallback Node's entry installs) and says NotSupportedError if not.
		if jsErrName(err) == "NotSupportedError" {
			return nil, fmt.Errorf("%w: useFileLock needs the Web Locks API (navigator.locks), which this context lacks", engine.ErrInvalidOption)
		}
		return nil, fmt.Errorf("navigator.locks.request: %w", err)
	}
	if !isFunction(release) { // held elsewhere
		return nil, fmt.Errorf("%w (Web Lock %q)", engine.ErrLocked, l.name)
	}
	return func() { _, _ = release.Invoke() }, nil
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
