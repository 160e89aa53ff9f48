package engine

import "time"

// Adaptive chunk sizing. fetch reports no progress inside a request, so on a slow link
// a large chunk means long silences; on a fast one a small chunk means per-request
// overhead. The chunk size therefore follows the measured throughput, aiming at a
// target time per request, between minChunk and a ceiling.
const (
	// DefaultTargetRequestTime is how long a PATCH should take when ChunkSize allows.
	DefaultTargetRequestTime = time.Second
	minChunk                 = 64 << 10
	firstChunk               = 512 << 10
)

type chunker struct {
	max, cur int64
	floor    int64 // the smallest chunk but the last: minChunk, or the server's minimum
	fixed    bool
	target   time.Duration
	rate     float64 // the last measured throughput, bytes per second (0: none yet)
}

// newChunker sizes chunks up to max (DefaultChunkSize when <= 0), aiming at target
// per request (DefaultTargetRequestTime when <= 0); fixed sends max every time.
func newChunker(max int64, fixed bool, target time.Duration) *chunker {
	ch := &chunker{max: max, fixed: fixed, target: target, floor: minChunk}
	if ch.max <= 0 {
		ch.max = DefaultChunkSize
	}
	if ch.target <= 0 {
		ch.target = DefaultTargetRequestTime
	}
	ch.cur = min(ch.max, firstChunk)
	if ch.fixed {
		ch.cur = ch.max
	}
	return ch
}

// size is the next PATCH's body size.
func (ch *chunker) size() int64 { return ch.cur }

// sent records that n bytes were confirmed in d. Growth is at most 4x per request:
// enough to reach a large maximum in a few requests on a fast link, while one
// unusually quick request on a slow link cannot make the next one huge.
func (ch *chunker) sent(n int64, d time.Duration) {
	if n > 0 && d > 0 {
		ch.rate = float64(n) / d.Seconds()
	}
	if ch.fixed || n <= 0 {
		return
	}
	want := ch.max
	if d > 0 {
		want = int64(ch.rate * ch.target.Seconds())
	}
	ch.cur = min(max(want, ch.floor), 4*ch.cur, ch.max)
}

// partial records a PATCH the server accepted only n bytes of: later chunks are about
// that size (at least the floor), so such a server is not sent far more than it takes.
func (ch *chunker) partial(n int64) {
	ch.cur = max(min(ch.cur, n), min(ch.floor, ch.max))
}

// failed halves the chunk after a failed request: a flaky link then loses less.
func (ch *chunker) failed() {
	if !ch.fixed {
		ch.cur = max(ch.cur/2, min(ch.floor, ch.max))
	}
}

// tooLarge lowers the ceiling to half of n after something on the way (a proxy's body
// limit, typically nginx's 1 MiB) refused a body of n bytes with 413; the ceiling
// holds for the rest of the call, fixed sizes included. It reports false when n was
// already at the floor (minChunk, or the server's minimum append): then the limit is not
// about chunk size.
func (ch *chunker) tooLarge(n int64) bool {
	if n <= ch.floor {
		return false
	}
	ch.max = max(min(ch.max, n/2), ch.floor)
	ch.cur = min(ch.cur, ch.max)
	if ch.fixed {
		ch.cur = ch.max
	}
	return true
}

// bound applies a server's limits on an append's size: at most hi and, but for the
// last, at least lo (0: no limit). A maximum wins over every other ceiling; a minimum
// above the ceiling raises it, since the server refuses anything smaller.
func (ch *chunker) bound(lo, hi int64) {
	if hi > 0 {
		ch.max = min(ch.max, hi)
		ch.floor = min(ch.floor, hi)
	}
	if lo > ch.floor {
		ch.floor = lo
		ch.max = max(ch.max, lo)
	}
	ch.cur = min(max(ch.cur, ch.floor), ch.max)
	if ch.fixed {
		ch.cur = ch.max
	}
}
