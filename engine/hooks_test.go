package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
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
		ShouldRetry: func(_ context.Context, err error, attempt int) (bool, error) {
			var he *engine.HTTPError
			if errors.As(err, &he) && he.Status == http.StatusUnauthorized {
				mu.Lock()
				token, retried = "new", retried+1
				mu.Unlock()
				return attempt == 1, nil
			}
			return engine.Recoverable(err), nil
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
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Store: engine.NewMemoryStore()}
	ev := engine.Events{OnUploadURL: func(u string) { urls = append(urls, u) }, OnProgress: func(sent, _ int64) {
		if sent > 0 {
			cancel()
		}
	}}
	f := engine.NewBytesFile("u.bin", data)
	if _, err := run(ctx, c, f, ev); !errors.Is(err, context.Canceled) || len(urls) != 1 {
		t.Fatalf("got %v, urls %v", err, urls)
	}
	ev.OnProgress = nil
	res, err := run(context.Background(), c, f, ev)
	if err != nil || !res.Resumed {
		t.Fatalf("%+v, %v", res, err)
	}
	if _, err := runAt(context.Background(), c, f, engine.UploadURL{URL: res.URL}, ev); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(urls) != fmt.Sprint([]string{res.URL, res.URL, res.URL}) {
		t.Fatalf("OnUploadURL saw %v, want the URL on creation, resume and Upload", urls)
	}
	srv.AssertStored(t, res.URL, data)
	// A URL that does not exist is never reported.
	urls = nil
	if _, err := runAt(context.Background(), c, f, engine.UploadURL{URL: endpoint + "nope"}, ev); !errors.Is(err, engine.ErrUploadExpired) || len(urls) != 0 {
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
		ShouldRetry: func(context.Context, error, int) (bool, error) { cancel(); return false, nil }}
	_, err := c.CreateAndUpload(ctx, engine.NewBytesFile("abort", randomBytes(100, 51)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// Every caller-supplied function has a bounded wait: one that does not answer within
// HookTimeout ends the call with ErrHook (never NETWORK, never a hang), and nothing is
// sent after it; a hook slower than the request timeout but within its own bound is
// not the request's failure, since the request's deadline starts after the hooks.
func TestHooksAreBounded(t *testing.T) {
	block := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	for _, tc := range []struct {
		name string
		set  func(c *engine.Client)
	}{
		{"HeadersFunc", func(c *engine.Client) {
			c.HeadersFunc = func(ctx context.Context) (http.Header, error) { return nil, block(ctx) }
		}},
		{"BeforeRequest", func(c *engine.Client) {
			c.BeforeRequest = func(r *http.Request) error { return block(r.Context()) }
		}},
		{"AfterResponse", func(c *engine.Client) {
			c.AfterResponse = func(r *http.Request, _ *http.Response) error { return block(r.Context()) }
		}},
		{"ShouldRetry", func(c *engine.Client) {
			c.ShouldRetry = func(ctx context.Context, _ error, _ int) (bool, error) { return false, block(ctx) }
		}},
		{"ShouldRetry fails", func(c *engine.Client) {
			c.ShouldRetry = func(context.Context, error, int) (bool, error) { return false, errors.New("policy service down") }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
				return r.Method == http.MethodPost && reply(w, r, http.StatusServiceUnavailable)
			})
			c := &engine.Client{Endpoint: endpoint, Retry: fastRetry, HookTimeout: 50 * time.Millisecond, RequestTimeout: 20 * time.Millisecond}
			tc.set(c)
			_, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewBytesFile("h", []byte("x")))
			})
			if engine.Code(err) != "HOOK" {
				t.Fatalf("got %v (%s), want HOOK", err, engine.Code(err))
			}
			if n := len(srv.Requests()); n > 1 {
				t.Fatalf("%d requests, want at most the one the hook was about", n)
			}
		})
	}
	srv, endpoint := newTusd(t)
	c := &engine.Client{Endpoint: endpoint, Retry: fastRetry, HookTimeout: time.Second, RequestTimeout: 100 * time.Millisecond,
		BeforeRequest: func(r *http.Request) error {
			select {
			case <-time.After(300 * time.Millisecond):
				return nil
			case <-r.Context().Done():
				return r.Context().Err()
			}
		}}
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("slow", []byte("hook")))
	if err != nil {
		t.Fatalf("a hook slower than the request timeout: %v", err)
	}
	srv.AssertStored(t, res.URL, []byte("hook"))
}

// ShouldRetry, like the other hooks, sees only what concerns the origins the caller
// configured: a failure at an upload URL on another origin gets the default decision.
func TestShouldRetryOnlyForTrustedOrigins(t *testing.T) {
	storage, storageEndpoint := newTusd(t)
	storage.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPatch, 1), http.StatusServiceUnavailable, nil, ""))
	_, apiEndpoint := newAPI(t, storageEndpoint)
	var asked atomic.Int32
	c := &engine.Client{Endpoint: apiEndpoint, Retry: fastRetry, DisableCreationWithUpload: true,
		ShouldRetry: func(context.Context, error, int) (bool, error) { asked.Add(1); return false, nil }}
	data := randomBytes(testChunk, 52)
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("u", data))
	if err != nil {
		t.Fatalf("the other origin's 503 was not retried: %v", err)
	}
	storage.AssertStored(t, res.URL, data)
	if asked.Load() != 0 {
		t.Fatalf("ShouldRetry was asked %d times about another origin's failure", asked.Load())
	}
}
