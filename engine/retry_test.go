package engine

import (
	"net/http"
	"testing"
	"time"
)

// Retry.Delays is tus-js-client's retryDelays: each wait in turn, no jitter, as many
// retries as delays, none for an empty list; Retry-After still lengthens a wait.
func TestRetryDelaysList(t *testing.T) {
	ms := time.Millisecond
	r := Retry{Delays: []time.Duration{0, 1000 * ms, 3000 * ms, 5000 * ms}}.withDefaults()
	if r.MaxRetries != 4 {
		t.Fatalf("MaxRetries %d, want 4", r.MaxRetries)
	}
	for n, want := range []time.Duration{0, 1000 * ms, 3000 * ms, 5000 * ms, 5000 * ms} {
		if d := r.delay(n+1, nil); d != want {
			t.Errorf("retry %d waits %v, want %v", n+1, d, want)
		}
	}
	if d := r.delay(1, http.Header{"Retry-After": {"2"}}); d != 2*time.Second {
		t.Errorf("Retry-After 2 s over a 0 ms delay: waits %v", d)
	}
	long := Retry{Delays: []time.Duration{time.Minute, -time.Second}}.withDefaults()
	if long.MaxDelay != time.Minute || long.delay(1, nil) != time.Minute || long.delay(2, nil) != 0 {
		t.Errorf("a delay over the default cap: %+v, waits %v then %v", long, long.delay(1, nil), long.delay(2, nil))
	}
	if none := (Retry{Delays: []time.Duration{}}).withDefaults(); none.MaxRetries != 0 {
		t.Errorf("an empty list allows %d retries, want none", none.MaxRetries)
	}
}

// A server's Retry-After lengthens a wait of retryDelays only up to the longest delay:
// with all delays 0 (retry at once) or shorter than the exponential defaults, a hostile
// Retry-After cannot stretch a wait to DefaultMaxDelay or DefaultInitialDelay.
func TestRetryDelaysRetryAfterUpToLongestDelay(t *testing.T) {
	ms := time.Millisecond
	ra := http.Header{"Retry-After": {"30"}}
	for _, tc := range []struct {
		delays []time.Duration
		want   time.Duration
	}{
		{[]time.Duration{0, 0}, 0},
		{[]time.Duration{100 * ms}, 100 * ms},
		{[]time.Duration{0, 1000 * ms, 3000 * ms}, 3000 * ms},
	} {
		r := Retry{Delays: tc.delays}.withDefaults()
		if d := r.delay(1, ra); d != tc.want {
			t.Errorf("delays %v, Retry-After 30 s: waits %v, want at most the longest delay %v", tc.delays, d, tc.want)
		}
	}
}
