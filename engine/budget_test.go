package engine_test

// The retry budget (retry.go) and the bytes a call sends, against tusd with faults:
// every server that fails, or only pretends to make progress, ends the call within the
// budget, and a long upload over a bad link keeps going.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// A server that keeps only the first 64 KiB of every PATCH body (and answers 204 with
// that offset: legitimate partial acceptance) must not make the client send many
// times the file: the chunk should follow what the server accepts.
func TestPartialAcceptanceAmplification(t *testing.T) {
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Truncate(method("PATCH"), 64<<10, false))
	const size = 4 << 20
	data := randomBytes(size, 70)
	c := &engine.Client{Endpoint: endpoint, ChunkSize: size, Retry: fastRetry}
	res, err := withDeadline(t, 60*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("amp", data))
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	sent := srv.BodyBytes.Load()
	t.Logf("%d PATCHes, %d bytes sent for a %d-byte file (%.1fx)", srv.Count("PATCH"), sent, size, float64(sent)/size)
	if sent > 3*size {
		t.Fatalf("sent %.1fx the file (%d bytes for %d) to a server that keeps 64 KiB per PATCH", float64(sent)/size, sent, size)
	}
}

// README: "The retry budget counts consecutive failures without progress, so a long
// upload over a bad link keeps going". A link that breaks after every 80 kB (each
// break leaves > 64 KiB of progress) must not end the call while progress continues.
func TestLongFlakyUploadKeepsGoing(t *testing.T) {
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Truncate(method("PATCH"), 80000, true))
	retry := engine.Retry{MaxRetries: 1, InitialDelay: time.Microsecond, MaxDelay: time.Microsecond}
	const size = 60 * 80000 // 60 breaks, each with 80 kB of progress; cap is 25*(1+1) = 50
	data := randomBytes(size, 71)
	c := &engine.Client{Endpoint: endpoint, ChunkSize: 4 * testChunk, Retry: retry}
	res, err := withDeadline(t, 60*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("long", data))
	})
	if err != nil {
		t.Fatalf("a steadily progressing upload was abandoned after %d PATCHes: %v", srv.Count("PATCH"), err)
	}
	srv.AssertStored(t, res.URL, data)
}

// Retry{MaxRetries: math.MaxInt} ("retry for ever", or a huge JS number) must retry,
// not give up at the first failure (maxFailuresFactor*(MaxRetries+1) overflows).
func TestHugeMaxRetriesRetries(t *testing.T) {
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Respond(tusdtest.Nth("PATCH", 1), 503, nil, ""))
	data := randomBytes(testChunk, 72)
	for _, m := range []int{math.MaxInt, math.MaxInt / 2, 1e18} {
		c := &engine.Client{Endpoint: endpoint, Retry: engine.Retry{MaxRetries: m, InitialDelay: time.Millisecond, MaxDelay: time.Millisecond}}
		res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
			return c.CreateAndUpload(ctx, engine.NewBytesFile("huge-"+strconv.Itoa(m), data))
		})
		if err != nil {
			t.Fatalf("MaxRetries %d: one 503 ended the call: %v", m, err)
		}
		srv.AssertStored(t, res.URL, data)
		srv.Inject(tusdtest.Respond(tusdtest.Nth("PATCH", 1), 503, nil, ""))
	}
}

// With a caller's chunk size below 64 KiB, a link that fails every other request still
// makes steady progress (half the requests succeed) and must not be given up on.
func TestSmallChunksEveryOtherFails(t *testing.T) {
	srv, endpoint := newTusd(t)
	var n atomic.Int32
	srv.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method == http.MethodPatch && n.Add(1)%2 == 0 {
			return reply(w, r, 503)
		}
		return false
	})
	data := randomBytes(64*1024, 73)
	c := &engine.Client{Endpoint: endpoint, ChunkSize: 4 << 10, Retry: fastRetry}
	res, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("small", data))
	})
	if err != nil {
		t.Fatalf("gave up after %d PATCHes although every other one succeeded: %v", srv.Count("PATCH"), err)
	}
	srv.AssertStored(t, res.URL, data)
}

// Hostile patterns against the budget: each must end within a bounded number of
// requests and bytes.
func TestBudgetBounds(t *testing.T) {
	const size = 8 * testChunk
	limit := 1 + 3*(fastRetry.MaxRetries+1) + 2
	cases := map[string]tusdtest.Fault{
		"409 storm":        tusdtest.Respond(method("PATCH"), 409, nil, "ERR_MISMATCHED_OFFSET"),
		"interrupted loop": tusdtest.Respond(method("PATCH"), 400, nil, "ERR_UPLOAD_INTERRUPTED: x"),
		"HEAD and PATCH alternate": func() tusdtest.Fault {
			var mu sync.Mutex
			k := 0
			return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				mu.Lock()
				k++
				odd := k%2 == 1
				mu.Unlock()
				if r.Method == http.MethodPatch || (r.Method == http.MethodHead && odd) {
					return reply(w, r, 500)
				}
				return false
			}
		}(),
		"Retry-After 0 flood": tusdtest.Respond(method("PATCH"), 503, http.Header{"Retry-After": {"0"}}, ""),
	}
	for name, fault := range cases {
		t.Run(name, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			srv.Inject(fault)
			c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
			_, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewBytesFile("b", randomBytes(size, 74)))
			})
			t.Logf("%d requests, %d bytes: %v", len(srv.Requests()), srv.BodyBytes.Load(), err)
			if err == nil {
				t.Fatal("succeeded")
			}
			if n := len(srv.Requests()); n > limit*4 {
				t.Fatalf("%d requests", n)
			}
		})
	}
}

// ShouldRetry that always says yes (even to 404 and 403) is still bounded by the budget.
func TestShouldRetryAlwaysBounded(t *testing.T) {
	for _, status := range []int{403, 404, 413, 401} {
		srv, endpoint := newTusd(t)
		srv.Inject(tusdtest.Respond(method("PATCH"), status, nil, ""))
		c := &engine.Client{Endpoint: endpoint, Retry: fastRetry, DisableCreationWithUpload: true, ShouldRetry: func(context.Context, error, int) (bool, error) { return true, nil }}
		_, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
			return c.CreateAndUpload(ctx, engine.NewBytesFile("s", randomBytes(2*testChunk, 75)))
		})
		if err == nil {
			t.Fatalf("%d: succeeded", status)
		}
		if n := srv.Count("PATCH"); n > fastRetry.MaxRetries+1+8 {
			t.Fatalf("%d: %d PATCHes", status, n)
		}
	}
}

// A WaitOnline that reports "was offline" at once (a flapping navigator.onLine, or a
// careless hook) turns the retry loop into a busy loop without any delay or bound.
func TestWaitOnlineFlappingIsBounded(t *testing.T) {
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Truncate(method("PATCH"), 0, true)) // every PATCH: connection reset
	c := &engine.Client{Endpoint: endpoint, Retry: fastRetry,
		WaitOnline: func(context.Context) (bool, error) { return true, nil }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.CreateAndUpload(ctx, engine.NewBytesFile("w", randomBytes(testChunk, 76)))
	n := len(srv.Requests())
	t.Logf("%d requests in 1 s: %v", n, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		return // the call ended by itself: bounded
	}
	if n > 200 {
		t.Fatalf("%d requests in 1 s with no backoff at all", n)
	}
}

// Client.AfterResponse: "An error ends the call." A hook error that wraps an
// *HTTPError or ErrNetwork (a hook that turns a 200-with-error-JSON into an HTTP
// error, or reports a failed token fetch) is instead retried as a server failure.
func TestAfterResponseErrorEndsCall(t *testing.T) {
	for _, hookErr := range []error{
		&engine.HTTPError{Method: "POST", Status: 503},
		fmt.Errorf("token service: %w", engine.ErrNetwork),
	} {
		srv, endpoint := newTusd(t)
		c := &engine.Client{Endpoint: endpoint, Retry: fastRetry,
			AfterResponse: func(*http.Request, *http.Response) error { return hookErr }}
		_, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("a", []byte("x")))
		if !errors.Is(err, engine.ErrHook) {
			t.Fatalf("got %v", err)
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("hook error %v: %d requests, want 1 (the hook's error ends the call)", hookErr, n)
		}
	}
}

// Retry.Factor NaN (withDefaults replaces only Factor < 1) makes every backoff zero.
func TestFactorNaNKeepsBackoff(t *testing.T) {
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Respond(method("PATCH"), 500, nil, ""))
	c := &engine.Client{Endpoint: endpoint, DisableCreationWithUpload: true, Retry: engine.Retry{MaxRetries: 3, InitialDelay: 100 * time.Millisecond, Factor: math.NaN()}}
	start := time.Now()
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("n", []byte("x"))); err == nil {
		t.Fatal("succeeded")
	}
	// 3 retries with at least InitialDelay/2 each
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("3 retries took %v: retries 2 and 3 did not back off (want >= 350 ms with InitialDelay 100 ms)", d)
	}
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
		case r.Method == http.MethodPatch && tusdtest.Offset(r) == 0 && lost.Load():
			return reply(w, r, 204, "Upload-Offset", strconv.FormatInt(r.ContentLength, 10))
		case r.Method == http.MethodPatch && tusdtest.Offset(r) > 0:
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
				held = tusdtest.Offset(r) + 1
				return reply(w, r, 204, "Upload-Offset", strconv.FormatInt(held, 10))
			}
			return reply(w, r, 500)
		}
		return false
	})
	endsPromptly(t, srv, endpoint, size)
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

// Retry.Delays bounds a call as tus-js-client's retryDelays does: three failures in a
// row pass with three delays and end the call with two.
func TestRetryDelaysBoundTheCall(t *testing.T) {
	for _, tc := range []struct {
		delays int
		ok     bool
	}{{3, true}, {2, false}, {0, false}} {
		srv, endpoint := newTusd(t)
		var fails atomic.Int32
		srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if r.Method != http.MethodPatch || fails.Load() >= 3 {
				return false
			}
			fails.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		})
		data := randomBytes(3*testChunk, 72)
		c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, DisableCreationWithUpload: true,
			Retry: engine.Retry{Delays: make([]time.Duration, tc.delays)}}
		res, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) {
			return c.CreateAndUpload(ctx, engine.NewBytesFile("delays", data))
		})
		if tc.ok {
			if err != nil {
				t.Fatalf("%d delays, 3 failures: %v", tc.delays, err)
			}
			srv.AssertStored(t, res.URL, data)
			continue
		}
		var he *engine.HTTPError
		if !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable || int(fails.Load()) != tc.delays+1 {
			t.Fatalf("%d delays: %v after %d failures, want the 503 after %d", tc.delays, err, fails.Load(), tc.delays+1)
		}
	}
}

// ShouldRetry is asked only while the budget allows another attempt, as tus-js-client
// asks onShouldRetry only while retryDelays has a delay left: with one delay and a
// server that always fails, it is asked once (attempt 1), with none never.
func TestShouldRetryNotAskedOnceBudgetIsSpent(t *testing.T) {
	for _, tc := range []struct {
		delays []time.Duration
		asked  string
	}{{[]time.Duration{0}, "[1]"}, {[]time.Duration{}, "[]"}, {[]time.Duration{0, 0, 0}, "[1 2 3]"}} {
		srv, endpoint := newTusd(t)
		srv.Inject(tusdtest.Respond(func(r *http.Request) bool { return r.Method == http.MethodPatch }, http.StatusServiceUnavailable, nil, "busy"))
		var mu sync.Mutex
		asked := []int{}
		c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, DisableCreationWithUpload: true,
			Retry: engine.Retry{Delays: tc.delays},
			ShouldRetry: func(_ context.Context, _ error, attempt int) (bool, error) {
				mu.Lock()
				defer mu.Unlock()
				asked = append(asked, attempt)
				return true, nil
			}}
		_, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) {
			return c.CreateAndUpload(ctx, engine.NewBytesFile("spent", randomBytes(testChunk, 73)))
		})
		var he *engine.HTTPError
		if !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable {
			t.Fatalf("delays %v: %v, want the 503", tc.delays, err)
		}
		if got := fmt.Sprint(asked); got != tc.asked || srv.Count(http.MethodPatch) != len(tc.delays)+1 {
			t.Errorf("delays %v: ShouldRetry asked for attempts %s, want %s; %d PATCHes", tc.delays, got, tc.asked, srv.Count(http.MethodPatch))
		}
	}
}
