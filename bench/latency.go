package main

import (
	"net/http"
	"sync/atomic"
	"time"
)

// latency sits in front of tusd and holds every request for a while before passing it
// on; the small-files run sets 50 ms, every other run 0.
//
// How it models a round trip: tusd sees the request (and only then reads its body and
// answers) one delay after the browser sent it, so every request-reply exchange takes
// that much longer, as over a link whose round-trip time is the delay (both directions'
// halves lumped before the request). The body itself still flows at loopback speed: a
// 256 KiB body sits in the socket buffers meanwhile. Left out: new connections'
// handshakes (the browser keeps its 6 per origin alive, so those are few) and TCP
// slow start, which on a real 50 ms link costs large bodies a few round trips more.
type latency struct {
	next  http.Handler
	delay atomic.Int64 // a time.Duration
}

func (l *latency) set(d time.Duration) { l.delay.Store(int64(d)) }

func (l *latency) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d := time.Duration(l.delay.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done(): // the browser gave up on it
			t.Stop()
			return
		}
	}
	l.next.ServeHTTP(w, r)
}
