//go:build js && wasm

package main

import (
	"runtime"
	"time"
)

// Go holds JS objects (fetch Responses, Blob slices, AbortControllers) through values
// whose finalizers release them, and its heap is so small that it rarely collects on
// its own: without explicit collections wasm and JS memory creep up over a long upload
// or a long-lived page.

// collectSoon runs Go's GC in a later task: after the Promise callbacks the current
// one triggers and while the browser sends the current request, not before either.
func collectSoon() { time.AfterFunc(time.Millisecond, runtime.GC) }

// gcPacer collects at most once per gcInterval, which bounds the main thread's GC time
// when requests are small and fast. Memory peaks measured the same with 100 ms.
type gcPacer struct{ last time.Time }

const gcInterval = time.Second

func (g *gcPacer) maybe() {
	if now := time.Now(); now.Sub(g.last) >= gcInterval {
		g.last = now
		collectSoon()
	}
}
