//go:build js && wasm

package main

import (
	"runtime"
	"sync"
	"time"
)

// Go holds JS objects (fetch Responses, Blob slices, AbortControllers) through values
// whose finalizers release them, and its heap is so small that it rarely collects on
// its own: without explicit collections wasm and JS memory creep up over a long upload
// or a long-lived page.

// collectSoon runs Go's GC in a later task: after the Promise callbacks the current
// one triggers and while the browser sends the current request, not before either.
func collectSoon() { time.AfterFunc(time.Millisecond, runtime.GC) }

// callGC collects after API calls, at most once per gcInterval: many small calls (200
// small files, six at a time) would otherwise pay a collection each. A call that ends
// inside the interval gets one collection at its end, so memory is still released.
var callGC struct {
	sync.Mutex
	last      time.Time
	scheduled bool
}

func collectAfterCall() {
	callGC.Lock()
	defer callGC.Unlock()
	if callGC.scheduled {
		return
	}
	wait := max(time.Until(callGC.last.Add(gcInterval)), time.Millisecond)
	callGC.scheduled = true
	time.AfterFunc(wait, func() {
		callGC.Lock()
		callGC.last, callGC.scheduled = time.Now(), false
		callGC.Unlock()
		runtime.GC()
	})
}

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
