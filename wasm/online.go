//go:build js && wasm

package main

import (
	"context"
	"time"

	"github.com/hack-pad/safejs"
)

// waitOnline is the engine's WaitOnline: while the browser says it is offline
// (navigator.onLine false), it waits for the "online" event, re-reading onLine every
// second in case the event is missed. Retrying during an outage would only burn the
// retry budget; waiting lets an upload survive an outage of any length (the caller's
// AbortSignal still stops it).
func waitOnline(ctx context.Context) (bool, error) {
	if online() {
		return false, nil
	}
	back := make(chan struct{}, 1)
	fn, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		select {
		case back <- struct{}{}:
		default:
		}
		return nil
	})
	if err != nil {
		return false, nil // cannot listen: fall back to the ordinary retry delays
	}
	defer fn.Release()
	g := safejs.Global()
	if _, err := g.Call("addEventListener", "online", fn); err == nil {
		defer g.Call("removeEventListener", "online", fn)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for !online() {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-back:
		case <-tick.C:
		}
	}
	return true, nil
}

// online reads navigator.onLine; anything unreadable counts as online, so a browser
// without the flag retries as usual.
func online() bool {
	nav, err := safejs.Global().Get("navigator")
	if err != nil || isNullish(nav) {
		return true
	}
	v, err := nav.Get("onLine")
	if err != nil || v.Type() != safejs.TypeBoolean {
		return true
	}
	b, _ := v.Bool()
	return b
}
