package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Retry is the backoff policy for recoverable failures. The zero value means the
// defaults below; MaxRetries < 0 disables retrying.
type Retry struct {
	// MaxRetries is how many consecutive failed attempts without meaningful progress
	// are tolerated (see attempts for what counts as progress).
	MaxRetries   int
	InitialDelay time.Duration
	MaxDelay     time.Duration
	Factor       float64
	// Delays, when not nil, are the waits before the retries in turn, as
	// tus-js-client's retryDelays: MaxRetries becomes len(Delays) (empty: no retry),
	// InitialDelay and Factor are unused, and there is no jitter. A server's
	// Retry-After still lengthens a wait, up to MaxDelay or the longest delay.
	Delays []time.Duration
}

// maxMaxRetries bounds MaxRetries, so that the failure arithmetic cannot overflow.
const maxMaxRetries = 1 << 20

// Defaults for Retry's zero fields.
const (
	DefaultMaxRetries   = 5
	DefaultInitialDelay = 500 * time.Millisecond
	DefaultMaxDelay     = 20 * time.Second
	DefaultFactor       = 2.0
)

func (r Retry) withDefaults() Retry {
	if r.Delays != nil {
		r.MaxRetries = len(r.Delays)
		if r.MaxRetries == 0 {
			r.MaxRetries = -1 // no retry: 0 would mean the default
		}
		r.Delays = slices.Clone(r.Delays)
		for i, d := range r.Delays {
			r.Delays[i] = max(d, 0)
			r.MaxDelay = max(r.MaxDelay, r.Delays[i])
		}
	}
	if r.MaxRetries == 0 {
		r.MaxRetries = DefaultMaxRetries
	}
	if r.MaxRetries < 0 {
		r.MaxRetries = 0
	}
	if r.InitialDelay <= 0 {
		r.InitialDelay = DefaultInitialDelay
	}
	// With Delays, MaxDelay is already the longest delay (or more, when set): a
	// Retry-After lengthens a wait no further, not to the exponential defaults.
	if r.MaxDelay <= 0 && r.Delays == nil {
		r.MaxDelay = DefaultMaxDelay
	}
	if r.MaxDelay < r.InitialDelay && r.Delays == nil {
		r.MaxDelay = r.InitialDelay
	}
	if !(r.Factor >= 1) { // NaN too
		r.Factor = DefaultFactor
	}
	r.MaxRetries = min(r.MaxRetries, maxMaxRetries)
	return r
}

// delay is the wait before retry number n (1-based): Delays' nth, or exponential,
// capped, with jitter in [d/2, d] so that many clients do not retry in lockstep. A
// server's Retry-After is honoured up to MaxDelay, so a hostile value cannot stall the
// upload.
func (r Retry) delay(n int, h http.Header) time.Duration {
	d := r.backoff(n)
	if ra, ok := retryAfter(h); ok {
		d = max(d, float64(ra))
	}
	return min(time.Duration(d), r.MaxDelay)
}

// backoff is the wait before retry n, before a server's Retry-After counts.
func (r Retry) backoff(n int) float64 {
	if len(r.Delays) > 0 {
		return float64(r.Delays[min(max(n, 1), len(r.Delays))-1])
	}
	d := float64(r.InitialDelay)
	for i := 1; i < n && d < float64(r.MaxDelay); i++ {
		d *= r.Factor
	}
	d = min(d, float64(r.MaxDelay))
	return d/2 + rand.Float64()*d/2
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

// minProgress is how far the server must move past the highest offset it had
// confirmed (or to the end, when less remains; or a chunk, when chunks are smaller) for
// the retry budget to start again: a server that confirms a byte and then fails, or
// that loses bytes and accepts them again, must not keep a call alive forever.
const minProgress = 64 << 10

// attempts is the retry budget of one call. Its rules:
//   - every failed attempt counts; more than MaxRetries in a row end the call;
//   - the count starts again only when the server confirms an offset at least
//     minProgress (or the rest of the file, or the largest chunk when that is smaller)
//     past the highest one it had confirmed when the count last started: re-confirming
//     old bytes is not progress;
//   - a server that goes back below an offset it confirmed (it lost bytes) more than
//     MaxRetries times in one call ends it;
//   - so a call makes at most MaxRetries+1 failed attempts per step of progress, and
//     total enforces that bound outright.
type attempts struct {
	max         int   // Retry.MaxRetries
	step        int64 // minProgress, or the largest chunk when smaller
	consecutive int
	total       int
	lost        int
	best        int64 // highest offset confirmed in this call, -1 before any
	mark        int64 // best when consecutive last started again
}

func newAttempts(maxRetries int, maxChunk int64) attempts {
	return attempts{max: maxRetries, step: max(min(minProgress, maxChunk), 1), best: -1, mark: -1}
}

// confirmed records an offset the server confirmed (by HEAD or PATCH) of an upload of
// size bytes (-1: not known yet).
func (a *attempts) confirmed(offset, size int64) {
	a.best = max(a.best, offset)
	need := a.step
	if size >= 0 {
		need = min(need, size-a.mark)
	}
	if a.mark < 0 || a.best > a.mark && a.best-a.mark >= need {
		a.consecutive, a.mark = 0, a.best
	}
}

// lostBytes records a HEAD offset below the highest one confirmed: the server lost
// bytes. It returns an error when that happened too often in one call.
func (a *attempts) lostBytes(offset int64) error {
	if a.lost++; a.lost > a.max {
		return protocolErr("the server lost confirmed bytes %d times (offset %d after %d)", a.lost, offset, a.best)
	}
	return nil
}

// failed counts a failed attempt; it reports false when the budget is spent.
func (a *attempts) failed() bool {
	a.consecutive++
	a.total++
	return a.allows()
}

// spent reports whether one more failed attempt would spend the budget (failed would
// report false): no retry decision can matter then.
func (a *attempts) spent() bool {
	b := *a
	b.consecutive++
	b.total++
	return !b.allows()
}

func (a *attempts) allows() bool {
	steps := 2 + max(a.best, 0)/a.step
	return a.consecutive <= a.max && int64(a.total) <= int64(a.max+1)*steps
}

// errNoProgress: a 204 that confirms none (or too few) of the bytes sent.
var errNoProgress = errors.New("tus: server confirmed none of the bytes sent")

// Recoverable is the default retry decision, which Client.ShouldRetry replaces:
// network errors, 5xx, 408, 409, 423, 429, 460 (checksum mismatch), tusd's "400
// ERR_UPLOAD_INTERRUPTED" and replies that confirm nothing are worth another attempt
// (after a HEAD); everything else is final.
func Recoverable(err error) bool {
	if errors.Is(err, ErrNetwork) || errors.Is(err, errNoProgress) {
		return true
	}
	var he *HTTPError
	if !errors.As(err, &he) {
		return false
	}
	switch {
	case he.Status >= 500, he.Status == http.StatusLocked, he.Status == http.StatusConflict,
		he.Status == http.StatusTooManyRequests, he.Status == http.StatusRequestTimeout,
		he.Status == statusChecksumMismatch:
		return true
	case he.Status == http.StatusBadRequest:
		// tusd: a competing request (often our own timed-out PATCH) took the lock.
		return strings.HasPrefix(he.Body, "ERR_UPLOAD_INTERRUPTED")
	}
	return false
}

// retryable applies ShouldRetry, when set, to the errors a server or the network
// caused on a request to a trusted origin; other failures get the default decision
// (aborts, a changed file, protocol violations, redirects and invalid options are
// never retried). A ShouldRetry that fails ends the call with its error. It is not
// asked once the budget is spent (as tus-js-client asks onShouldRetry only while
// retryDelays has a delay left): its answer could not matter.
func (cl *call) retryable(ctx context.Context, err error, attempt int, spent bool) (bool, error) {
	if errors.Is(err, ErrHook) {
		return false, nil // a hook's own failure, whatever it wraps
	}
	var he *HTTPError
	fromServer := errors.Is(err, ErrNetwork) || errors.As(err, &he)
	if cl.c.ShouldRetry == nil || spent || !fromServer || !fromTrustedOrigin(err) {
		return Recoverable(err), nil
	}
	var retry bool
	herr := cl.hook(ctx, "ShouldRetry", func(hctx context.Context) (err2 error) {
		retry, err2 = cl.c.ShouldRetry(hctx, err, attempt)
		return err2
	})
	return retry, herr
}

// backoff follows a failed attempt: it returns the error that ends the call, or nil
// after waiting (Retry's delay, or until the network is back) for the next attempt.
func (cl *call) backoff(ctx context.Context, err error, a *attempts) error {
	stopped := func(cause error) error {
		return fmt.Errorf("tus: upload stopped at %d of %d bytes: %w", max(cl.reported, 0), cl.size, cause)
	}
	if ctx.Err() != nil {
		return stopped(ctx.Err())
	}
	retry, herr := cl.retryable(ctx, err, a.consecutive+1, a.spent())
	switch {
	case ctx.Err() != nil: // the decision (a ShouldRetry hook) was cut short by an abort
		return stopped(ctx.Err())
	case herr != nil:
		return fmt.Errorf("%w (deciding whether to retry after: %v)", herr, err)
	case !retry:
		return err
	}
	if errors.Is(err, ErrNetwork) && cl.c.WaitOnline != nil {
		waited, werr := cl.c.WaitOnline(ctx)
		if werr != nil {
			return stopped(werr)
		}
		if waited {
			// Failing while offline says nothing about the server: no count. A short
			// pause still, so that a flapping onLine cannot spin.
			if err := sleep(ctx, cl.retry.InitialDelay/2); err != nil {
				return stopped(err)
			}
			return nil
		}
	}
	if !a.failed() {
		return fmt.Errorf("tus: giving up after %d attempts without progress (%d failed in all): %w", a.consecutive, a.total, err)
	}
	var h http.Header
	var he *HTTPError
	if errors.As(err, &he) {
		h = he.header
	}
	wait := cl.retry.delay(a.consecutive, h)
	if errors.Is(err, ErrOffsetMismatch) && a.consecutive == 1 {
		wait = 0 // the HEAD that follows is the fix
	}
	cl.touch(ctx)
	if err := sleep(ctx, wait); err != nil {
		return stopped(err)
	}
	return nil
}

// retrying runs op until it succeeds, fails for good or spends the budget.
func (cl *call) retrying(ctx context.Context, op func() error) error {
	a := newAttempts(cl.retry.MaxRetries, minProgress)
	for {
		err := op()
		if err == nil {
			return nil
		}
		if err := cl.backoff(ctx, err, &a); err != nil {
			return err
		}
	}
}
