package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// connCap sits in front of tusd and caps how fast tusd reads request bodies, per TCP
// connection: a token bucket per connection, shared by every request that connection
// carries (browsers reuse their connections, so a cap per request would refill between
// PATCHes and let a connection beat it). The parallel run sets 40 MiB/s, every other
// run 0 (off).
//
// What it models: a limit that holds for each connection but not for the link as a
// whole. A proxy or load balancer that shapes each connection does exactly this; so,
// roughly, does a long link, where one TCP connection moves at most its window per
// round trip (4 MiB over 100 ms is 40 MiB/s) however fast the link is. Several
// connections then go faster together, which is what parallel uploads are for. The
// browser writes into the socket at its own pace until the buffers fill; tusd reading
// at the capped rate then holds it back through TCP's flow control, as a slow hop would.
// Left out: a bottleneck the connections share (here they only share the machine's two
// cores), slow start and the round trip itself (latency.go models that).
type connCap struct {
	next http.Handler
	rate atomic.Int64 // bytes per second per connection; 0: no cap
	// Requests whose body is being read now, and the most since takePeak: whether a
	// client's parts really share the time, each on its own connection.
	inflight, peak atomic.Int64
}

// capBurst is how many bytes a connection may send at once after it was idle (the
// bucket's size): a few ms at 40 MiB/s, so the pauses between PATCHes bank next to
// nothing; a cap that let idle time add up would not be a cap.
const capBurst = 256 << 10

// capMinSleep: debts below this are carried to the next read rather than slept off, so
// a 32 KiB read does not cost a timer each (the debt is exact; only its payment waits).
const capMinSleep = 2 * time.Millisecond

type connBucketKey struct{}

// bucket is one connection's: the time at which its bytes so far are paid for at the
// rate. A full bucket is that time capBurst's worth behind now.
type bucket struct {
	mu   sync.Mutex
	paid time.Time
}

func (c *connCap) set(bytesPerS int64) { c.rate.Store(bytesPerS) }

// takePeak returns the most capped requests in flight at once since the last call.
func (c *connCap) takePeak() int { return int(c.peak.Swap(c.inflight.Load())) }

// connContext gives each new connection its bucket (http.Server.ConnContext).
func (c *connCap) connContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connBucketKey{}, &bucket{})
}

func (c *connCap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rate := c.rate.Load()
	if b, ok := r.Context().Value(connBucketKey{}).(*bucket); ok && rate > 0 && r.Body != nil && r.Body != http.NoBody {
		r.Body = &cappedBody{ReadCloser: r.Body, b: b, rate: float64(rate), ctx: r.Context()}
		n := c.inflight.Add(1)
		defer c.inflight.Add(-1)
		for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
		}
	}
	c.next.ServeHTTP(w, r)
}

// cappedBody pays for each read's bytes in its connection's bucket before the next.
type cappedBody struct {
	io.ReadCloser
	b    *bucket
	rate float64
	ctx  context.Context
}

func (cb *cappedBody) Read(p []byte) (int, error) {
	if len(p) > capBurst {
		p = p[:capBurst]
	}
	n, err := cb.ReadCloser.Read(p)
	if n > 0 {
		if werr := cb.b.take(cb.ctx, n, cb.rate); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

// take charges n bytes at rate and sleeps until they are paid for, unless the debt is
// below capMinSleep, or until ctx ends (the browser gave up on the request).
func (b *bucket) take(ctx context.Context, n int, rate float64) error {
	b.mu.Lock()
	now := time.Now()
	if full := now.Add(-time.Duration(capBurst / rate * float64(time.Second))); b.paid.Before(full) {
		b.paid = full
	}
	b.paid = b.paid.Add(time.Duration(float64(n) / rate * float64(time.Second)))
	wait := b.paid.Sub(now)
	b.mu.Unlock()
	if wait < capMinSleep {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
