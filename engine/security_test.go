package engine_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// A redirect is never followed: the headers cannot reach a place the caller did not
// configure, and the error says what happened instead of retrying.
func TestRedirectsAreNotFollowed(t *testing.T) {
	elsewhere, elsewhereEndpoint := newTusd(t)
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Respond(method("POST"), http.StatusTemporaryRedirect, http.Header{"Location": {elsewhereEndpoint}}, ""))
	c := &engine.Client{Endpoint: endpoint, Retry: fastRetry, Headers: http.Header{"X-Api-Key": {"secret"}}}
	_, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("r", []byte("hello")))
	if !errors.Is(err, engine.ErrRedirect) {
		t.Fatalf("got %v, want ErrRedirect", err)
	}
	if n := len(elsewhere.Requests()); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
	if n := srv.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs: a redirect was retried", n)
	}
}

// An oversized Location is refused rather than stored and replayed.
func TestHugeLocationRefused(t *testing.T) {
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Rewrite(method("POST"), setHeader("Location", endpoint+strings.Repeat("a", 100<<10))))
	c := &engine.Client{Endpoint: endpoint, Retry: fastRetry}
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("h", []byte("x"))); !errors.Is(err, engine.ErrProtocol) {
		t.Fatalf("got %v, want ErrProtocol", err)
	}
}

// Failures while WaitOnline reports an outage do not use up the retry budget: an
// outage longer than the budget is survived.
func TestOfflineDoesNotCountAgainstRetries(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(4*testChunk, 31)
	const outage = 12 // requests refused, far more than MaxRetries
	var refused atomic.Int32
	srv.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method != http.MethodPatch || srv.Count(http.MethodPatch) < 2 || refused.Load() >= outage {
			return false
		}
		refused.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return true
	})
	var waits atomic.Int32
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Retry: engine.Retry{MaxRetries: 2, InitialDelay: time.Millisecond},
		WaitOnline: func(ctx context.Context) (bool, error) {
			waits.Add(1)
			return refused.Load() < outage, nil // "offline" for as long as the outage lasts
		}}
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("off", data))
	if err != nil {
		t.Fatalf("%v after %d waits", err, waits.Load())
	}
	srv.AssertStored(t, res.URL, data)

	// Still online: the budget applies as before, and a failing WaitOnline ends the call.
	stop := errors.New("page closed")
	c.WaitOnline = func(context.Context) (bool, error) { return false, stop }
	srv.Inject(tusdtest.Truncate(method("PATCH"), 10, true))
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("off2", data)); !errors.Is(err, stop) {
		t.Fatalf("got %v, want the WaitOnline error", err)
	}
}

// A stored entry whose URL is on an origin the call does not trust is never used
// (storage is not trusted input): a new upload is created and the entry replaced.
func TestStoredEntryOnForeignOriginIgnored(t *testing.T) {
	foreign, foreignEndpoint := newTusd(t)
	srv, endpoint := newTusd(t)
	store := engine.NewMemoryStore()
	data := randomBytes(testChunk, 5)
	f := engine.NewBytesFile("s.bin", data)
	c := &engine.Client{Endpoint: endpoint, Store: store, Headers: http.Header{"Authorization": {"Bearer secret"}}}
	fp, _ := c.Fingerprint(context.Background(), f)
	_ = store.Put(context.Background(), engine.StoredUpload{Fingerprint: fp, URL: foreignEndpoint + "abc", Size: int64(len(data)), CreatedAt: time.Now()})
	res, err := c.CreateAndUpload(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed || len(foreign.Requests()) != 0 {
		t.Fatalf("used a foreign stored URL: %+v, %d foreign requests", res, len(foreign.Requests()))
	}
	srv.AssertStored(t, res.URL, data)
}
