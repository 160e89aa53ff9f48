package engine

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Retry is the backoff policy for recoverable failures. The zero value means the
// defaults below; MaxRetries < 0 disables retrying.
type Retry struct {
	// MaxRetries is how many consecutive failures without progress are tolerated.
	// A chunk the server confirms resets the count.
	MaxRetries   int
	InitialDelay time.Duration
	MaxDelay     time.Duration
	Factor       float64
}

// Defaults for Retry's zero fields.
const (
	DefaultMaxRetries   = 5
	DefaultInitialDelay = 500 * time.Millisecond
	DefaultMaxDelay     = 20 * time.Second
	DefaultFactor       = 2.0
)

func (r Retry) withDefaults() Retry {
	if r.MaxRetries == 0 {
		r.MaxRetries = DefaultMaxRetries
	}
	if r.MaxRetries < 0 {
		r.MaxRetries = 0
	}
	if r.InitialDelay <= 0 {
		r.InitialDelay = DefaultInitialDelay
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = DefaultMaxDelay
	}
	if r.MaxDelay < r.InitialDelay {
		r.MaxDelay = r.InitialDelay
	}
	if r.Factor < 1 {
		r.Factor = DefaultFactor
	}
	return r
}

// delay is the wait before retry number n (1-based): exponential, capped, with jitter
// in [d/2, d] so that many clients do not retry in lockstep. A server's Retry-After is
// honoured up to MaxDelay, so a hostile value cannot stall the upload.
func (r Retry) delay(n int, h http.Header) time.Duration {
	d := float64(r.InitialDelay)
	for i := 1; i < n && d < float64(r.MaxDelay); i++ {
		d *= r.Factor
	}
	d = min(d, float64(r.MaxDelay))
	d = d/2 + rand.Float64()*d/2
	if ra, ok := retryAfter(h); ok {
		d = max(d, float64(ra))
	}
	return min(time.Duration(d), r.MaxDelay)
}

// retryAfter reads a Retry-After header: delta-seconds or an HTTP date.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	const limit = 24 * time.Hour // far-future values must not overflow into negative waits
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(min(s, int(limit/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), limit), true
	}
	return 0, false
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
