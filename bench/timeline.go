package main

import (
	"net/http"
	"sync"
	"time"
)

// timeline records when each tus request reached the server and when its handler
// returned. The gaps between one reply and the next request are the client's own time
// (its code between requests plus the browser's request setup): a figure that, unlike
// throughput, does not move with the loopback's and the disk's noise.
type timeline struct {
	next http.Handler
	mu   sync.Mutex
	reqs []span
}

type span struct {
	method     string
	file       string // the request's X-Bench-File (small-files run)
	start, end time.Time
}

func (t *timeline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := span{method: r.Method, file: r.Header.Get("X-Bench-File"), start: time.Now()}
	t.next.ServeHTTP(w, r)
	s.end = time.Now()
	t.mu.Lock()
	t.reqs = append(t.reqs, s)
	t.mu.Unlock()
}

// take returns the spans recorded since the last take, in order of arrival.
func (t *timeline) take() []span {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.reqs
	t.reqs = nil
	return out
}

// serverTimes sums, in milliseconds, the time between each reply and the next request
// (gap) and the time inside requests (busy), and returns the time from the first
// request to the last reply (span).
func serverTimes(spans []span) (gap, busy, total float64) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for i, s := range spans {
		busy += ms(s.end.Sub(s.start))
		if i > 0 {
			gap += max(0, ms(s.start.Sub(spans[i-1].end)))
		}
	}
	if len(spans) > 0 {
		total = ms(spans[len(spans)-1].end.Sub(spans[0].start))
	}
	return gap, busy, total
}
