package engine_test

// Regression tests for the defects an independent review found (issue 16): each one
// failed before its fix. The browser-side items (1, 8, 12) have e2e tests as well.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// reply answers a tus request itself: status, Tus-Resumable and the given headers.
func reply(w http.ResponseWriter, r *http.Request, status int, kv ...string) bool {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Tus-Resumable", "1.0.0")
	for i := 0; i+1 < len(kv); i += 2 {
		w.Header().Set(kv[i], kv[i+1])
	}
	w.WriteHeader(status)
	return true
}

func offsetOf(r *http.Request) int64 {
	n, _ := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	return n
}

// 1. A URL a server gave keeps the server's trust rules when the caller hands it back
// (Upload's pause and resume): the headers stay with the configured origins.
func TestServerGivenURLKeepsServerTrust(t *testing.T) {
	storage, storageEndpoint := newTusd(t)
	var sawAuth atomic.Int32
	storage.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Header.Get("Authorization") != "" {
			sawAuth.Add(1)
		}
		return false
	})
	api, apiEndpoint := newTusd(t)
	api.Inject(tusdtest.CreateOn(storageEndpoint))
	data := randomBytes(4*testChunk, 40)
	ctx, cancel := context.WithCancel(context.Background())
	var loc string
	c := &engine.Client{Endpoint: apiEndpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry,
		Headers:     http.Header{"Authorization": {"Bearer secret"}},
		OnUploadURL: func(u string) { loc = u },
		OnProgress: func(sent, _ int64) {
			if sent >= testChunk {
				cancel() // pause
			}
		}}
	if _, err := c.CreateAndUpload(ctx, engine.NewBytesFile("t", data)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the pause", err)
	}
	if !strings.HasPrefix(loc, storageEndpoint) {
		t.Fatalf("upload at %q, not on the storage origin", loc)
	}
	c.OnProgress = nil
	res, err := c.Upload(context.Background(), engine.NewBytesFile("t", data), engine.UploadURL{URL: loc, FromServer: true})
	if err != nil {
		t.Fatal(err)
	}
	storage.AssertStored(t, res.URL, data)
	if n := sawAuth.Load(); n != 0 {
		t.Fatalf("the storage origin received Authorization %d times", n)
	}
	// The same URL written by the caller is the caller's choice of origin.
	if _, err := c.Upload(context.Background(), engine.NewBytesFile("t", data), engine.UploadURL{URL: loc}); err != nil {
		t.Fatal(err)
	}
	if sawAuth.Load() == 0 {
		t.Fatal("a caller-written upload URL did not receive the headers")
	}
}

// 2. Credentials in a Location are a protocol violation, never stored.
func TestLocationWithCredentialsRefused(t *testing.T) {
	srv, endpoint := newTusd(t)
	u, _ := url.Parse(endpoint)
	srv.Inject(tusdtest.Rewrite(method("POST"), setHeader("Location", "http://user:pw@"+u.Host+"/files/x")))
	store := engine.NewMemoryStore()
	c := &engine.Client{Endpoint: endpoint, Store: store, Retry: fastRetry}
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("u", []byte("x"))); !errors.Is(err, engine.ErrProtocol) {
		t.Fatalf("got %v, want ErrProtocol", err)
	}
	if l, _ := store.List(context.Background()); len(l) != 0 {
		t.Fatalf("stored %+v", l)
	}
	c.Endpoint = "http://user:pw@" + u.Host + "/files/"
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("u", []byte("x"))); !errors.Is(err, engine.ErrInvalidOption) {
		t.Fatalf("endpoint with credentials: got %v, want ErrInvalidOption", err)
	}
}

// endsPromptly runs an upload against a faking server and requires a bounded end.
func endsPromptly(t *testing.T, srv *tusdtest.Server, endpoint string, size int) error {
	t.Helper()
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	_, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("fake", randomBytes(size, 41)))
	})
	if err == nil {
		t.Fatal("the upload succeeded against a server that never holds the file")
	}
	// Creation, then at most a HEAD and two PATCHes per counted failure.
	if n, limit := len(srv.Requests()), 1+3*(fastRetry.MaxRetries+1); n > limit {
		t.Fatalf("%d requests (limit %d): fake progress kept the call alive", n, limit)
	}
	t.Log(err)
	return err
}

// 3. A server that loses bytes after each failure and accepts them again does not
// reset the budget: re-confirming old bytes is not progress.
func TestServerLosingBytesEndsCall(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 4 * testChunk
	var lost atomic.Bool
	srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		switch {
		case r.Method == http.MethodHead && lost.Load():
			return reply(w, r, 200, "Upload-Offset", "0", "Upload-Length", strconv.Itoa(size))
		case r.Method == http.MethodPatch && offsetOf(r) == 0 && lost.Load():
			return reply(w, r, 204, "Upload-Offset", strconv.FormatInt(r.ContentLength, 10))
		case r.Method == http.MethodPatch && offsetOf(r) > 0:
			lost.Store(true)
			return reply(w, r, 500)
		}
		return false
	})
	endsPromptly(t, srv, endpoint, size)
}

// 4. A server that confirms one byte and then fails does not reset the budget either.
func TestOneBytePerCycleEndsCall(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 4 * testChunk
	var mu sync.Mutex
	var held int64
	var accept bool
	srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodHead:
			return reply(w, r, 200, "Upload-Offset", strconv.FormatInt(held, 10), "Upload-Length", strconv.Itoa(size))
		case http.MethodPatch:
			if accept = !accept; accept {
				held = offsetOf(r) + 1
				return reply(w, r, 204, "Upload-Offset", strconv.FormatInt(held, 10))
			}
			return reply(w, r, 500)
		}
		return false
	})
	endsPromptly(t, srv, endpoint, size)
}

// 5. After a failed PATCH, a HEAD that claims more than was ever sent is a lie, not a
// success.
func TestHeadPastBytesSentIsProtocol(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 4 * testChunk
	srv.Inject(tusdtest.Respond(tusdtest.Nth("PATCH", 2), 500, nil, ""))
	srv.Inject(tusdtest.Rewrite(method("HEAD"), setHeader("Upload-Offset", strconv.Itoa(size))))
	err := endsPromptly(t, srv, endpoint, size)
	if !errors.Is(err, engine.ErrProtocol) {
		t.Fatalf("got %v, want ErrProtocol", err)
	}
}

// 6. A stored entry the server no longer honours (another length, 403) is dropped and
// a new upload made; a 401 keeps it (a token refresh may make it work again).
func TestStaleStoredEntryReplaced(t *testing.T) {
	srv, endpoint := newTusd(t)
	ctx := context.Background()
	data := randomBytes(2*testChunk, 42)
	store := engine.NewMemoryStore()
	c := &engine.Client{Endpoint: endpoint, Store: store, Retry: fastRetry}
	fp, _ := c.Fingerprint(ctx, engine.NewBytesFile("s.bin", data))
	maker := &engine.Client{Endpoint: endpoint} // makes the uploads the stale entries name
	other, err := maker.Create(ctx, engine.NewBytesFile("other", randomBytes(len(data)+1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	refused, err := maker.Create(ctx, engine.NewBytesFile("s.bin", data))
	if err != nil {
		t.Fatal(err)
	}
	refusedPath := strings.TrimPrefix(refused, strings.TrimSuffix(endpoint, "/files/"))
	var status atomic.Int32
	srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method == http.MethodHead && r.URL.Path == refusedPath {
			return reply(w, r, int(status.Load()))
		}
		return false
	})
	for _, tc := range []struct {
		name   string
		url    string
		status int
	}{{"other length", other, 0}, {"403", refused, 403}} {
		status.Store(int32(tc.status))
		_ = store.Put(ctx, engine.StoredUpload{Fingerprint: fp, URL: tc.url, Size: int64(len(data)), CreatedAt: time.Now()})
		res, err := c.CreateAndUpload(ctx, engine.NewBytesFile("s.bin", data))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if res.Resumed || res.URL == tc.url {
			t.Fatalf("%s: resumed the stale entry: %+v", tc.name, res)
		}
		srv.AssertStored(t, res.URL, data)
		if l, _ := store.List(ctx); len(l) != 0 {
			t.Fatalf("%s: store keeps %+v", tc.name, l)
		}
	}
	status.Store(401)
	_ = store.Put(ctx, engine.StoredUpload{Fingerprint: fp, URL: refused, Size: int64(len(data)), CreatedAt: time.Now()})
	var he *engine.HTTPError
	if _, err := c.CreateAndUpload(ctx, engine.NewBytesFile("s.bin", data)); !errors.As(err, &he) || he.Status != 401 {
		t.Fatalf("got %v, want the 401", err)
	}
	if l, _ := store.List(ctx); len(l) != 1 {
		t.Fatalf("a 401 dropped the entry: %+v", l)
	}
}

// 7. When a call has to start over (the stored upload expired during the resume),
// OnUploadURL announces the new upload before progress goes back.
func TestRestartAnnouncedBeforeProgressGoesBack(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(4*testChunk, 43)
	store := engine.NewMemoryStore()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var events []string // "url <u>" or "progress <n>"
	c := &engine.Client{Endpoint: endpoint, Store: store, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry,
		OnUploadURL: func(u string) { mu.Lock(); events = append(events, "url "+u); mu.Unlock() },
		OnProgress: func(sent, _ int64) {
			mu.Lock()
			events = append(events, "progress "+strconv.FormatInt(sent, 10))
			mu.Unlock()
			if sent >= 2*testChunk {
				cancel()
			}
		}}
	f := engine.NewBytesFile("r.bin", data)
	if _, err := c.CreateAndUpload(ctx, f); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the pause", err)
	}
	mu.Lock()
	events = nil
	mu.Unlock()
	srv.Inject(tusdtest.Respond(tusdtest.Nth("PATCH", 1), http.StatusNotFound, nil, "ERR_UPLOAD_NOT_FOUND"))
	res, err := c.CreateAndUpload(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	last, url, announced := int64(-1), "", false
	for _, e := range events {
		kind, v, _ := strings.Cut(e, " ")
		if kind == "url" {
			announced = v != url
			url = v
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		if n < last && !announced {
			t.Fatalf("progress went back without a new upload announced: %v", events)
		}
		last, announced = n, false
	}
	if !strings.HasPrefix(events[0], "url ") || last != int64(len(data)) || url != res.URL {
		t.Fatalf("events %v, result %+v", events, res)
	}
}

// 8. Terminating an upload that is already gone succeeds; 200 is accepted like 204;
// the stored entries for it go too.
func TestTerminateGoneOrOK(t *testing.T) {
	srv, endpoint := newTusd(t)
	ctx := context.Background()
	store := engine.NewMemoryStore()
	c := &engine.Client{Endpoint: endpoint, Store: store, Retry: fastRetry}
	u, err := c.Create(ctx, engine.NewBytesFile("d", []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := store.List(ctx); len(l) != 1 {
		t.Fatalf("creation stored %+v", l)
	}
	for range 2 { // deleted, then already gone (404)
		if err := c.Terminate(ctx, engine.UploadURL{URL: u}); err != nil {
			t.Fatal(err)
		}
	}
	if l, _ := store.List(ctx); len(l) != 0 {
		t.Fatalf("Terminate left %+v in the store", l)
	}
	for _, status := range []int{http.StatusGone, http.StatusOK} {
		srv.Inject(tusdtest.Respond(tusdtest.Nth("DELETE", 1), status, nil, ""))
		if err := c.Terminate(ctx, engine.UploadURL{URL: u}); err != nil {
			t.Fatalf("%d: %v", status, err)
		}
	}
}

// 9. A 413 on a grown chunk (a proxy's body limit) halves the chunk and goes on, and
// the ceiling holds for the rest of the upload.
func TestPatch413HalvesChunk(t *testing.T) {
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Respond(func(r *http.Request) bool {
		return r.Method == http.MethodPatch && r.ContentLength > 1<<20
	}, http.StatusRequestEntityTooLarge, nil, "<html>413 Request Entity Too Large</html>"))
	data := randomBytes(8<<20, 44)
	c := &engine.Client{Endpoint: endpoint, Retry: fastRetry}
	res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("big", data))
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	refused := 0
	for _, r := range srv.Requests() {
		if r.Status == http.StatusRequestEntityTooLarge {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("%d PATCHes refused with 413, want exactly one (then the ceiling holds)", refused)
	}
	// A 413 at the floor is the server's answer, not the chunk size: HTTP, not TOO_LARGE.
	srv.Inject(tusdtest.Respond(method("PATCH"), http.StatusRequestEntityTooLarge, nil, ""))
	c.DisableCreationWithUpload = true
	_, err = c.CreateAndUpload(context.Background(), engine.NewBytesFile("any", randomBytes(testChunk, 1)))
	if engine.Code(err) != "HTTP" {
		t.Fatalf("got %v (%s), want HTTP 413", err, engine.Code(err))
	}
}

// 10. A server's 423 is retried, and once the retries are spent it is an HTTP error,
// not the cross-tab LOCKED.
func TestServer423IsNotLocked(t *testing.T) {
	srv, _, err := uploadThrough(t, randomBytes(2*testChunk, 45), tusdtest.Respond(method("PATCH"), http.StatusLocked, nil, ""))
	var he *engine.HTTPError
	if errors.Is(err, engine.ErrLocked) || !errors.As(err, &he) || he.Status != 423 || engine.Code(err) != "HTTP" {
		t.Fatalf("got %v (%s), want HTTP 423", err, engine.Code(err))
	}
	if n := srv.Count(http.MethodPatch); n != fastRetry.MaxRetries+1 {
		t.Fatalf("%d PATCHes, want %d (423 is retried)", n, fastRetry.MaxRetries+1)
	}
}

// 11. FindPreviousUploads finds what CreateAndUpload stored for an endpoint written in
// a non-canonical form (one fingerprint for every use).
func TestFingerprintUsesCanonicalEndpoint(t *testing.T) {
	_, endpoint := newTusd(t)
	ctx, cancel := context.WithCancel(context.Background())
	store := engine.NewMemoryStore()
	c := &engine.Client{Endpoint: "HTTP" + strings.TrimPrefix(endpoint, "http"), Store: store, ChunkSize: testChunk,
		OnProgress: func(sent, _ int64) {
			if sent > 0 {
				cancel()
			}
		}}
	f := engine.NewBytesFile("c.bin", randomBytes(3*testChunk, 46))
	if _, err := c.CreateAndUpload(ctx, f); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the pause", err)
	}
	if prev, err := c.FindPreviousUploads(context.Background(), f); err != nil || len(prev) != 1 {
		t.Fatalf("FindPreviousUploads = %+v, %v; want the stored upload", prev, err)
	}
}
