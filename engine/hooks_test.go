package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tuswasm/tuswasm/engine"
)

// An expiring token: HeadersFunc is asked before every request, the server starts
// refusing the old token mid-upload, ShouldRetry refreshes it and retries the 401,
// and AfterResponse sees every reply. The upload completes byte-exact.
func TestTokenRefreshThroughHooks(t *testing.T) {
	srv, endpoint := newTusd(t)
	var expired atomic.Bool
	srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method == http.MethodPatch && srv.Count(http.MethodPatch) >= 2 {
			expired.Store(true)
		}
		if expired.Load() && r.Header.Get("Authorization") == "Bearer old" {
			return reply(w, r, http.StatusUnauthorized)
		}
		return false
	})
	var mu sync.Mutex
	token, asked, retried := "old", 0, 0
	var statuses []int
	data := randomBytes(4*testChunk, 50)
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry,
		HeadersFunc: func(context.Context) (http.Header, error) {
			mu.Lock()
			defer mu.Unlock()
			asked++
			return http.Header{"Authorization": {"Bearer " + token}}, nil
		},
		ShouldRetry: func(err error, attempt int) bool {
			var he *engine.HTTPError
			if errors.As(err, &he) && he.Status == http.StatusUnauthorized {
				mu.Lock()
				token, retried = "new", retried+1
				mu.Unlock()
				return attempt == 1
			}
			return engine.Recoverable(err)
		},
		AfterResponse: func(_ *http.Request, resp *http.Response) error {
			mu.Lock()
			statuses = append(statuses, resp.StatusCode)
			mu.Unlock()
			return nil
		}}
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("tok", data))
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	n := len(srv.Requests())
	if asked != n || len(statuses) != n || retried != 1 {
		t.Fatalf("%d requests: headers asked %d times, %d replies seen, %d retries (want 1): %v", n, asked, len(statuses), retried, statuses)
	}
	if statuses[0] != http.StatusCreated || !containsInt(statuses, http.StatusUnauthorized) {
		t.Fatalf("AfterResponse saw %v", statuses)
	}

	// Without the override a 401 is final; a hook's error ends the call.
	c.ShouldRetry, token = nil, "old"
	var he *engine.HTTPError
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("tok2", data)); !errors.As(err, &he) || he.Status != 401 {
		t.Fatalf("got %v, want the 401", err)
	}
	boom := errors.New("vault sealed")
	c.HeadersFunc = func(context.Context) (http.Header, error) { return nil, boom }
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("tok3", data)); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the HeadersFunc error", err)
	}
	c.HeadersFunc = func(context.Context) (http.Header, error) { return http.Header{"X-A": {"a\r\nX-B: b"}}, nil }
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("tok4", data)); !errors.Is(err, engine.ErrInvalidOption) {
		t.Fatalf("got %v, want ErrInvalidOption for a header with CRLF", err)
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// OnUploadURL reports the upload a call sends to: created, resumed from Store, or
// continued from a caller's URL (after the HEAD that shows it exists).
func TestUploadURLReported(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(3*testChunk, 51)
	ctx, cancel := context.WithCancel(context.Background())
	var urls []string
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Store: engine.NewMemoryStore(),
		OnUploadURL: func(u string) { urls = append(urls, u) },
		OnProgress: func(sent, _ int64) {
			if sent > 0 {
				cancel()
			}
		}}
	f := engine.NewBytesFile("u.bin", data)
	if _, err := c.CreateAndUpload(ctx, f); !errors.Is(err, context.Canceled) || len(urls) != 1 {
		t.Fatalf("got %v, urls %v", err, urls)
	}
	c.OnProgress = nil
	res, err := c.CreateAndUpload(context.Background(), f)
	if err != nil || !res.Resumed {
		t.Fatalf("%+v, %v", res, err)
	}
	if _, err := c.Upload(context.Background(), f, engine.UploadURL{URL: res.URL}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(urls) != fmt.Sprint([]string{res.URL, res.URL, res.URL}) {
		t.Fatalf("OnUploadURL saw %v, want the URL on creation, resume and Upload", urls)
	}
	srv.AssertStored(t, res.URL, data)
	// A URL that does not exist is never reported.
	urls = nil
	if _, err := c.Upload(context.Background(), f, engine.UploadURL{URL: endpoint + "nope"}); !errors.Is(err, engine.ErrUploadExpired) || len(urls) != 0 {
		t.Fatalf("got %v, urls %v", err, urls)
	}
}

// An abort while ShouldRetry decides (in the browser: a hook's Promise the abort cuts
// short, which counts as "stop") ends the call as an abort, not with the failure it was
// deciding on.
func TestAbortDuringShouldRetry(t *testing.T) {
	srv, endpoint := newTusd(t)
	srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		return reply(w, r, http.StatusServiceUnavailable)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &engine.Client{Endpoint: endpoint, Retry: fastRetry,
		ShouldRetry: func(error, int) bool { cancel(); return false }}
	_, err := c.CreateAndUpload(ctx, engine.NewBytesFile("abort", randomBytes(100, 51)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}
