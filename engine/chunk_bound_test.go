package engine

import (
	"testing"
	"time"
)

// A server's append limits bound the chunk through every later adjustment.
func TestChunkerBound(t *testing.T) {
	ch := newChunker(32<<20, false, 0)
	ch.bound(0, 50000)
	ch.sent(50000, time.Millisecond) // fast: wants to grow
	if ch.size() != 50000 {
		t.Fatalf("max-append-size 50000: chunk %d", ch.size())
	}
	ch.failed()
	ch.partial(100)
	if s := ch.size(); s < 100 || s > 50000 {
		t.Fatalf("after a failure and a partial reply: chunk %d", s)
	}
	ch = newChunker(64<<10, false, 0)
	ch.bound(200000, 0) // a minimum above ChunkSize raises the ceiling
	ch.failed()
	ch.sent(1000, time.Second) // slow: wants to shrink
	if ch.size() != 200000 || ch.tooLarge(200000) {
		t.Fatalf("min-append-size 200000: chunk %d", ch.size())
	}
	ch = newChunker(1<<20, true, 0)
	if ch.bound(0, 300000); ch.size() != 300000 {
		t.Fatalf("fixed chunk under max-append-size 300000: %d", ch.size())
	}
}
