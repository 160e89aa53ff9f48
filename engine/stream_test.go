package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// A stream of unknown length whose HEAD (after a reset) carries neither Upload-Length
// nor Upload-Defer-Length (a server that leaves the latter out, or a cross-origin
// server whose CORS policy does not expose it): only a length the server names counts
// as known to it, so the last PATCH declares the length and the upload completes there
// (an upload the server still waits on is no success).
func TestStreamDeclaresLengthUnlessServerNamesIt(t *testing.T) {
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Truncate(tusdtest.Nth("PATCH", 2), 1000, true))
	srv.Inject(tusdtest.Rewrite(method("HEAD"), setHeader("Upload-Defer-Length", "")))
	data := randomBytes(5*testChunk+3, 2208)
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewReaderStream("s", bytes.NewReader(data)))
	})
	if err != nil {
		t.Fatalf("%v (%s)", err, engine.Code(err))
	}
	srv.AssertStored(t, res.URL, data)
	resp, err := headStatus(t, res.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Upload-Length"); got != strconv.Itoa(len(data)) {
		t.Fatalf("the call reported success, but the server's upload has Upload-Length %q, Upload-Defer-Length %q: its length was never declared, the upload is not complete",
			got, resp.Header.Get("Upload-Defer-Length"))
	}
}

// A stream of unknown length that ends within its first chunk is created with its
// length (peek), and declares it only there: @tus/server 2.4.5 answers a PATCH that
// declares Upload-Length again 400 (ERR_INVALID_LENGTH; tusd lets it pass). The
// stand-in here answers as @tus/server does.
func TestStreamShortDeclaresLengthOnce(t *testing.T) {
	for _, noData := range []bool{false, true} {
		t.Run(fmt.Sprintf("creation-with-upload %v", !noData), func(t *testing.T) {
			srv, endpoint := newTusd(t)
			var declared atomic.Int32
			srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
				if r.Method == http.MethodPatch && r.Header.Get("Upload-Length") != "" {
					declared.Add(1)
					return reply(w, r, http.StatusBadRequest) // @tus/server: the length is set already
				}
				return false
			})
			data := randomBytes(1000, 2209)
			c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Retry: fastRetry, DisableCreationWithUpload: noData}
			res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewReaderStream("s", bytes.NewReader(data)))
			})
			if n := declared.Load(); n > 0 {
				t.Errorf("%d PATCHes declared Upload-Length to an upload created with it", n)
			}
			if err != nil {
				t.Fatalf("a stream ending in its first chunk: %v (%s)", err, engine.Code(err))
			}
			srv.AssertStored(t, res.URL, data)
		})
	}
}

// A stream of unknown length that outgrows the server's Tus-Max-Size (which the
// OPTIONS it sends first reports) stops as TOO_LARGE before a byte past the limit is
// sent: tusd v2.9.1 does not enforce MaxSize on a deferred upload's PATCHes, and would
// take every byte, then refuse the declared length (HTTP 400).
func TestStreamPastMaxSizeIsTooLarge(t *testing.T) {
	srv := tusdtest.New(t, "", tusdtest.Options{MaxSize: 3*testChunk + 10})
	endpoint := srv.Start(t)
	data := randomBytes(6*testChunk, 2250)
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	_, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewReaderStream("s", bytes.NewReader(data)))
	})
	t.Logf("%v (%s) after %d requests: %v", err, engine.Code(err), len(srv.Requests()), srv.Requests())
	if err == nil {
		t.Fatal("a stream past Tus-Max-Size succeeded")
	}
	if engine.Code(err) != "TOO_LARGE" {
		t.Errorf("got %s, want TOO_LARGE: OPTIONS said Tus-Max-Size, the call knew", engine.Code(err))
	}
	if n := srv.BodyBytes.Load(); n > 3*testChunk+10 {
		t.Errorf("%d bytes sent to a server whose Tus-Max-Size is %d", n, 3*testChunk+10)
	}
}
