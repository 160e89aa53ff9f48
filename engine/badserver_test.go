package engine_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

func method(m string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Method == m }
}

func setHeader(name, value string) func(*int, http.Header) {
	return func(_ *int, h http.Header) {
		if value == "" {
			h.Del(name)
		} else {
			h.Set(name, value)
		}
	}
}

// Broken servers end the call with the table's code, promptly, after a bounded number
// of requests.
func TestBrokenServers(t *testing.T) {
	// Each case gets a fresh server, so the method alone scopes its fault.
	byMethod := func(_, m string) func(*http.Request) bool {
		return func(r *http.Request) bool { return m == "" || r.Method == m }
	}
	for _, tc := range tusdtest.HostileCases(byMethod) {
		if tc.Side == tusdtest.BrowserOnly {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			data := randomBytes(2*testChunk, 3)
			srv, endpoint := newTusd(t)
			srv.Inject(tc.Fault)
			c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Retry: fastRetry}
			_, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				res, err := c.CreateAndUpload(ctx, engine.NewBytesFile("b", data))
				if err == nil && tc.Resume {
					_, err = c.Upload(ctx, engine.NewBytesFile("b", data), engine.UploadURL{URL: res.URL})
				}
				return res, err
			})
			if err == nil {
				t.Fatal("no error")
			}
			if got := engine.Code(err); got != tc.Code {
				t.Fatalf("got %s (%v), want %s", got, err, tc.Code)
			}
			if n := len(srv.Requests()); n > 2*(fastRetry.MaxRetries+2) {
				t.Fatalf("%d requests: retried a hopeless server", n)
			}
			t.Log(err)
		})
	}
}

// Deviations that put no byte at risk (another 2xx, a body on a success, a
// scheme-relative Location, OPTIONS without Tus-Version beside Tus-Resumable) end
// byte-exact, as they do with tus-js-client.
func TestToleratedServers(t *testing.T) {
	byMethod := func(_, m string) func(*http.Request) bool {
		return func(r *http.Request) bool { return m == "" || r.Method == m }
	}
	for _, tc := range tusdtest.ToleratedCases(byMethod) {
		t.Run(tc.Name, func(t *testing.T) {
			data := randomBytes(3*testChunk, 4)
			srv, endpoint := newTusd(t)
			srv.Inject(tc.Fault)
			c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry,
				CheckServerCapabilities: tc.Capabilities}
			res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewBytesFile("t", data))
			})
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
		})
	}
}

func TestNonTusServers(t *testing.T) {
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>hello</html>"))
	}))
	t.Cleanup(html.Close)
	f := engine.NewBytesFile("n", []byte("x"))
	ctx := context.Background()

	c := &engine.Client{Endpoint: html.URL, CheckServerCapabilities: true, Retry: fastRetry}
	if _, err := c.CreateAndUpload(ctx, f); !errors.Is(err, engine.ErrUnsupportedServer) {
		t.Fatalf("OPTIONS on a web server: got %v, want ErrUnsupportedServer", err)
	}
	c.CheckServerCapabilities = false
	if _, err := c.CreateAndUpload(ctx, f); !errors.Is(err, engine.ErrProtocol) {
		t.Fatalf("POST to a web server: got %v, want ErrProtocol", err)
	}
	// A server that is gone: connection refused, retried, then a network error.
	html.Close()
	if _, err := c.CreateAndUpload(ctx, f); !errors.Is(err, engine.ErrNetwork) {
		t.Fatalf("got %v, want ErrNetwork", err)
	}
}

// A server that drips its reply body cannot hold the upload (no RequestTimeout set):
// success bodies are never read, error bodies only for a bounded time.
func TestSlowDripBodies(t *testing.T) {
	drip := func(m string, status int, header http.Header) tusdtest.Fault {
		return tusdtest.Drip(method(m), status, header, time.Second)
	}
	cases := map[string]struct {
		fault tusdtest.Fault
		want  error
	}{
		"error body": {drip("POST", 500, nil), nil},
		// A 201 whose Location is not a tus upload: the body must not be awaited
		// before the PATCH (which then fails on the bogus URL).
		"success body": {drip("POST", 201, http.Header{"Location": {"/nowhere/x"}}), engine.ErrUploadExpired},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			srv.Inject(tc.fault)
			c := &engine.Client{Endpoint: endpoint, Retry: engine.Retry{MaxRetries: -1}}
			_, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewBytesFile("d", []byte("data")))
			})
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
}

// Progress found by HEAD (bytes of a failed PATCH that the server kept) resets the
// retry budget when it is meaningful (64 KiB or the rest of the file), so a long upload
// over a link that always breaks mid-chunk completes.
func TestProgressThroughHeadResetsBudget(t *testing.T) {
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Truncate(method("PATCH"), 80000, true)) // every PATCH breaks after 80 kB
	data := randomBytes(8*testChunk, 30)
	c := &engine.Client{Endpoint: endpoint, ChunkSize: 4 * testChunk, Retry: engine.Retry{MaxRetries: 1, InitialDelay: time.Millisecond, MaxDelay: time.Millisecond}}
	res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("p", data))
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
}
