package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// uploadThrough uploads data with fault f injected and returns the server and result.
func uploadThrough(t *testing.T, data []byte, faults ...tusdtest.Fault) (*tusdtest.Server, engine.Result, error) {
	t.Helper()
	srv, endpoint := newTusd(t)
	for _, f := range faults {
		srv.Inject(f)
	}
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Retry: fastRetry}
	res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("f", data))
	})
	return srv, res, err
}

func TestRecovers(t *testing.T) {
	retryAfter := http.Header{"Retry-After": {"0"}}
	cases := []struct {
		name  string
		fault tusdtest.Fault
		// at most this many bytes may be sent beyond the file size
		maxResent int64
	}{
		{"5xx burst", tusdtest.Respond(tusdtest.Nth("PATCH", 2, 3, 4), 503, retryAfter, "busy"), 0},
		{"500 502 504", tusdtest.Respond(tusdtest.Nth("PATCH", 1, 2, 3), 502, nil, ""), 0},
		{"423 locked", tusdtest.Respond(tusdtest.Nth("PATCH", 2), http.StatusLocked, nil, ""), 0},
		{"409 mismatch", tusdtest.Respond(tusdtest.Nth("PATCH", 2, 3), http.StatusConflict, nil, "ERR_MISMATCHED_OFFSET: mismatch"), 0},
		{"tusd interrupted", tusdtest.Respond(tusdtest.Nth("PATCH", 2), http.StatusBadRequest, nil, "ERR_UPLOAD_INTERRUPTED: upload has been interrupted"), 0},
		{"reset mid-body", tusdtest.Truncate(tusdtest.Nth("PATCH", 2, 4), 1000, true), 2 * testChunk},
		{"partial acceptance", tusdtest.Truncate(tusdtest.Nth("PATCH", 1, 3), 5000, false), 2 * testChunk},
		{"HEAD fails too", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			return tusdtest.Respond(tusdtest.Nth("PATCH", 2), 500, nil, "")(w, r, next) ||
				tusdtest.Respond(tusdtest.Nth("HEAD", 1), 500, nil, "")(w, r, next)
		}, 0},
		{"POST fails", tusdtest.Respond(tusdtest.Nth("POST", 1, 2), 503, nil, ""), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := randomBytes(5*testChunk+1, 11)
			srv, res, err := uploadThrough(t, data, tc.fault)
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			if sent := srv.BodyBytes.Load(); sent > int64(len(data))+tc.maxResent+5*testChunk {
				t.Fatalf("sent %d bytes for %d", sent, len(data))
			}
		})
	}
}

// Faulted requests re-send at most the chunk they interrupted.
func TestResentBytesBounded(t *testing.T) {
	data := randomBytes(5*testChunk+1, 12)
	srv, res, err := uploadThrough(t, data, tusdtest.Truncate(tusdtest.Nth("PATCH", 3), 100, true))
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	// The server read 100 bytes of the cut request and all of the others.
	if extra := srv.BodyBytes.Load() - int64(len(data)); extra < 0 || extra > testChunk {
		t.Fatalf("%d bytes re-sent, want at most one chunk (%d)", extra, testChunk)
	}
}

func TestGivesUp(t *testing.T) {
	always := func(m string) func(*http.Request) bool { return func(r *http.Request) bool { return r.Method == m } }
	cases := []struct {
		name   string
		fault  tusdtest.Fault
		is     error
		status int
	}{
		{"persistent 500", tusdtest.Respond(always("PATCH"), 500, nil, "boom"), nil, 500},
		{"persistent 409", tusdtest.Respond(always("PATCH"), 409, nil, ""), engine.ErrOffsetMismatch, 409},
		{"no progress 204", func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if r.Method != http.MethodPatch {
				return false
			}
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Tus-Resumable", "1.0.0")
			w.Header().Set("Upload-Offset", r.Header.Get("Upload-Offset"))
			w.WriteHeader(http.StatusNoContent)
			return true
		}, nil, 0},
		{"403 not retried", tusdtest.Respond(always("PATCH"), 403, nil, "forbidden"), nil, 403},
		{"404 expired", tusdtest.Respond(always("PATCH"), 404, nil, "ERR_UPLOAD_NOT_FOUND"), engine.ErrUploadExpired, 404},
		{"410 expired", tusdtest.Respond(always("PATCH"), 410, nil, ""), engine.ErrUploadExpired, 410},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _, err := uploadThrough(t, randomBytes(2*testChunk, 1), tc.fault)
			if err == nil {
				t.Fatal("upload succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("got %v, want %v", err, tc.is)
			}
			var he *engine.HTTPError
			if tc.status != 0 && (!errors.As(err, &he) || he.Status != tc.status) {
				t.Errorf("got %v, want HTTPError %d", err, tc.status)
			}
			patches := srv.Count(http.MethodPatch)
			want := fastRetry.MaxRetries + 1
			if tc.status == 403 || tc.status == 404 || tc.status == 410 {
				want = 1
			}
			if patches != want {
				t.Errorf("%d PATCH requests, want %d", patches, want)
			}
			t.Log(err)
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	data := randomBytes(testChunk, 2)
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Respond(tusdtest.Nth("PATCH", 1), 503, http.Header{"Retry-After": {"1"}}, ""))
	c := &engine.Client{Endpoint: endpoint, DisableCreationWithUpload: true, Retry: engine.Retry{InitialDelay: time.Millisecond, MaxDelay: 3 * time.Second}}
	start := time.Now()
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("r", data))
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	// Behaviour, not speed: with a 1 ms backoff only Retry-After explains a 1 s wait.
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("retried after %v, before Retry-After's 1 s", waited)
	}
}

// A slow reply beyond RequestTimeout is abandoned and retried.
func TestRequestTimeoutRetried(t *testing.T) {
	data := randomBytes(2*testChunk, 4)
	srv, endpoint := newTusd(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	first := tusdtest.Nth("PATCH", 1)
	srv.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if first(r) {
			_, _ = io.Copy(io.Discard, r.Body)
			select { // hold the reply until the client gave up on it
			case <-r.Context().Done():
			case <-release:
			}
			return true
		}
		return false
	})
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Retry: fastRetry, RequestTimeout: 300 * time.Millisecond}
	res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("slow", data))
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
}

func TestFileChanged(t *testing.T) {
	_, endpoint := newTusd(t)
	data := randomBytes(3*testChunk, 8)
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Retry: fastRetry}
	_, err := c.CreateAndUpload(context.Background(), newFlakyFile(data, 2*testChunk+10))
	if !errors.Is(err, engine.ErrFileChanged) {
		t.Fatalf("got %v, want ErrFileChanged", err)
	}

	// A file whose size no longer matches the server's upload.
	url, err := c.Create(context.Background(), engine.NewBytesFile("x", data))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upload(context.Background(), engine.NewBytesFile("x", data[:len(data)-1]), engine.UploadURL{URL: url})
	if !errors.Is(err, engine.ErrFileChanged) {
		t.Fatalf("got %v, want ErrFileChanged", err)
	}
}

// A file is locked before anything is sent, but one sent whole in one request (at
// most 512 KiB and the first chunk), which is neither locked nor stored.
func TestFileLock(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(512<<10+1, 3)
	f := engine.NewBytesFile("l", data)
	var key string
	c := &engine.Client{Endpoint: endpoint, Lock: func(_ context.Context, fp string) (func(), error) {
		key = fp
		return nil, fmt.Errorf("%w: held elsewhere", engine.ErrLocked)
	}}
	if _, err := c.CreateAndUpload(context.Background(), f); !errors.Is(err, engine.ErrLocked) {
		t.Fatalf("got %v, want ErrLocked", err)
	}
	if len(srv.Requests()) != 0 {
		t.Fatal("requests sent without the lock")
	}
	// The lock is keyed by the engine's own fingerprint, the one Store uses.
	if want, _ := c.Fingerprint(context.Background(), f); key != want {
		t.Fatalf("locked %q, want the fingerprint %q", key, want)
	}
	released := 0
	c.Lock = func(context.Context, string) (func(), error) { return func() { released++ }, nil }
	res, err := c.CreateAndUpload(context.Background(), f)
	if err != nil || released != 1 {
		t.Fatalf("%v, released %d times", err, released)
	}
	srv.AssertStored(t, res.URL, data)
	c.Lock = func(context.Context, string) (func(), error) { return nil, engine.ErrLocked }
	for _, size := range []int{0, 1, 512 << 10} {
		res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("l", data[:size]))
		if err != nil {
			t.Fatalf("%d bytes: %v; want sent whole without a lock", size, err)
		}
		srv.AssertStored(t, res.URL, data[:size])
	}
}

func TestExpired(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(3*testChunk, 10)
	ctx := context.Background()
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk}
	url, err := c.Create(ctx, engine.NewBytesFile("e", data))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Terminate(ctx, engine.UploadURL{URL: url}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Upload(ctx, engine.NewBytesFile("e", data), engine.UploadURL{URL: url})
	if !errors.Is(err, engine.ErrUploadExpired) {
		t.Fatalf("got %v, want ErrUploadExpired", err)
	}

	var created []string
	c.OnExpired = engine.ExpiredRecreate
	res, err := runAt(ctx, c, engine.NewBytesFile("e", data), engine.UploadURL{URL: url}, engine.Events{OnCreate: func(u string) { created = append(created, u) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 1 || res.URL != created[0] || res.URL == url {
		t.Fatalf("re-created as %v, result %s", created, res.URL)
	}
	srv.AssertStored(t, res.URL, data)

	// Recreate is attempted once: a server that loses every upload ends the call.
	srv.Inject(tusdtest.Respond(func(r *http.Request) bool { return r.Method == http.MethodPatch }, 404, nil, ""))
	if _, err := c.CreateAndUpload(ctx, engine.NewBytesFile("e2", data)); !errors.Is(err, engine.ErrUploadExpired) {
		t.Fatalf("got %v, want ErrUploadExpired", err)
	}
	if n := srv.Count(http.MethodPost); n != 4 {
		t.Fatalf("%d POSTs, want 4 (1 + 1 + 2 for the lost upload)", n)
	}
}

// Without RequestTimeout a request still has a deadline (StallTimeout's floor, or more
// for a body at the measured throughput): a server that accepts a request and never
// answers is abandoned and the request retried, and one that never answers anything
// ends the call as a network error, in bounded time.
func TestDefaultDeadline(t *testing.T) {
	hang := func(match func(*http.Request) bool) tusdtest.Fault {
		return func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if !match(r) {
				return false
			}
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done() // never answers; the client must give up
			return true
		}
	}
	srv, endpoint := newTusd(t)
	srv.Inject(hang(tusdtest.Nth("PATCH", 2)))
	data := randomBytes(4*testChunk, 13)
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry, StallTimeout: 300 * time.Millisecond}
	res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("stall", data))
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)

	srv.Inject(hang(method("PATCH")))
	start := time.Now()
	_, err = withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("dead", data))
	})
	if !errors.Is(err, engine.ErrNetwork) {
		t.Fatalf("got %v, want ErrNetwork", err)
	}
	// MaxRetries+1 attempts of 300 ms, a HEAD each, and fastRetry's short waits.
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a dead server held the call %v", took)
	}
	t.Logf("dead server: NETWORK after %v", time.Since(start).Round(time.Millisecond))
}
