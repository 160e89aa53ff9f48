package engine_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// A server that stores an aborted PATCH's body late (as @tus/server does): after a
// pause, the next call's first HEAD shows the old offset, its first PATCH gets 409, and
// the HEAD after shows the late bytes, past everything the new call sent itself. Those
// bytes were offered by this process: the call continues, byte-exact. Without the
// record (another process sent them) any offset up to the length is taken too; a HEAD
// past every byte ever offered is still a lie.
func TestLateBytesFromAnAbortedPatch(t *testing.T) {
	const size = 16 * testChunk
	data := randomBytes(size, 70)
	for _, tc := range []struct {
		name   string
		offers func(first *engine.Offers) *engine.Offers
		lie    int64 // > 0: later HEADs claim this offset
		want   error
	}{
		{"same process", func(o *engine.Offers) *engine.Offers { return o }, 0, nil},
		{"another process", func(*engine.Offers) *engine.Offers { return engine.NewOffers() }, 0, nil},
		{"no record", func(*engine.Offers) *engine.Offers { return nil }, 0, nil},
		{"past every byte offered", func(o *engine.Offers) *engine.Offers { return o }, 9 * testChunk, engine.ErrProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			store, offers := engine.NewMemoryStore(), engine.NewOffers()
			// The second PATCH (bytes 4-8 chunks) is held; the call is paused once 3
			// chunks of it arrived.
			late, fault := tusdtest.NewLate(func(r *http.Request) bool { return tusdtest.Offset(r) == 4*testChunk }, 3*testChunk)
			srv.Inject(fault)
			f := engine.NewBytesFile("late.bin", data)
			first := &engine.Client{Endpoint: endpoint, Store: store, Offers: offers, ChunkSize: 4 * testChunk, FixedChunkSize: true, Retry: fastRetry}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { _, err := first.CreateAndUpload(ctx, f); done <- err }()
			select {
			case <-late.Reached:
			case <-time.After(20 * time.Second):
				t.Fatal("the second PATCH never arrived")
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("first call: %v, want the pause", err)
			}
			if tc.lie > 0 { // every HEAD after the one Late answers
				srv.Inject(tusdtest.Rewrite(method("HEAD"), setHeader("Upload-Offset", strconv.FormatInt(tc.lie, 10))))
			}
			// The second call sends smaller chunks than the late bytes.
			second := &engine.Client{Endpoint: endpoint, Store: store, Offers: tc.offers(offers), ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
			res, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) { return second.CreateAndUpload(ctx, f) })
			select {
			case <-late.Stored:
			default:
				t.Fatal("the late bytes were never stored: the test did not test anything")
			}
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			if !res.Resumed || srv.Count(http.MethodPost) != 1 {
				t.Fatalf("resumed %v after %d POSTs, want the same upload continued", res.Resumed, srv.Count(http.MethodPost))
			}
		})
	}
}
