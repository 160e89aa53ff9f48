package engine_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
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

// OPTIONS naming only another version while saying Tus-Resumable 1.0.0, or neither
// header: the server does not (or may not) speak 1.0.0, CAPABILITY before a POST.
func TestOptionsOtherVersionRefused(t *testing.T) {
	for _, tc := range []struct{ name, version, resumable string }{
		{"Tus-Version 2.0.0 only", "2.0.0", "1.0.0"},
		{"Tus-Version 1.0.0.1", "1.0.0.1", "1.0.0"},
		{"neither header", "", ""},
		{"no Tus-Version, Tus-Resumable 0.2.2", "", "0.2.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			srv.Inject(tusdtest.Rewrite(method("OPTIONS"), func(_ *int, h http.Header) {
				setHeader("Tus-Version", tc.version)(nil, h)
				setHeader("Tus-Resumable", tc.resumable)(nil, h)
			}))
			c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Retry: fastRetry}
			_, err := c.CreateAndUpload(context.Background(), engine.NewReaderStream("s", bytes.NewReader(randomBytes(3*testChunk, 2204))))
			if !errors.Is(err, engine.ErrUnsupportedServer) {
				t.Fatalf("got %v, want ErrUnsupportedServer", err)
			}
			if n := srv.Count(http.MethodPost); n != 0 {
				t.Fatalf("%d POSTs to a server that does not speak 1.0.0", n)
			}
		})
	}
}

// The lenient 2xx rules, probed for a false success: a server that answers some 2xx
// with headers that would lose bytes must not end the call as a success with the file
// stored short. Each case either ends byte-exact or with an error; never a short
// success.
func TestLenient2xxNoShortSuccess(t *testing.T) {
	const size = 4 * testChunk
	once := func(m string, f func(w http.ResponseWriter, r *http.Request, next http.Handler) bool) tusdtest.Fault {
		first := tusdtest.Nth(m, 1)
		return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !first(r) {
				return false
			}
			return f(w, r, next)
		}
	}
	for _, tc := range []struct {
		name    string
		fault   tusdtest.Fault
		noData  bool // DisableCreationWithUpload
		want    string
		headLie bool // later HEADs claim the whole file
	}{
		{name: "200 PATCH without Upload-Offset", want: "PROTOCOL",
			fault: tusdtest.Rewrite(tusdtest.Nth("PATCH", 1), func(s *int, h http.Header) { *s = 200; h.Del("Upload-Offset") })},
		{name: "202 PATCH claiming the whole file", want: "PROTOCOL", noData: true,
			fault: once("PATCH", func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
				return reply(w, r, http.StatusAccepted, "Upload-Offset", strconv.Itoa(size))
			})},
		{name: "206 PATCH", want: "",
			fault: tusdtest.Rewrite(method("PATCH"), func(s *int, _ http.Header) { *s = http.StatusPartialContent })},
		{name: "200 POST offset past its body", want: "PROTOCOL",
			fault: tusdtest.Rewrite(method("POST"), func(s *int, h http.Header) { *s = 200; h.Set("Upload-Offset", strconv.Itoa(size)) })},
		{name: "200 POST without offset, HEAD claims all", want: "PROTOCOL", headLie: true,
			fault: tusdtest.Rewrite(method("POST"), func(s *int, h http.Header) { *s = 200; h.Del("Upload-Offset") })},
		{name: "204 POST without body, offset the whole file", want: "", noData: true,
			fault: tusdtest.Rewrite(method("POST"), func(s *int, h http.Header) { *s = 204; h.Set("Upload-Offset", strconv.Itoa(size)) })},
		{name: "204 POST naming an upload never created", want: "EXPIRED",
			fault: once("POST", func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
				return reply(w, r, http.StatusNoContent, "Location", "/files/never-created")
			})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			srv.Inject(tc.fault)
			if tc.headLie {
				srv.Inject(tusdtest.Rewrite(method("HEAD"), setHeader("Upload-Offset", strconv.Itoa(size))))
			}
			data := randomBytes(size, 2205)
			c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry,
				DisableCreationWithUpload: tc.noData}
			res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewBytesFile("l", data))
			})
			if err == nil {
				srv.AssertStored(t, res.URL, data)
				if tc.want != "" {
					t.Fatalf("ended byte-exact, but want %s", tc.want)
				}
				return
			}
			if engine.Code(err) != tc.want {
				t.Fatalf("got %v (%s), want %q", err, engine.Code(err), tc.want)
			}
			t.Log(err)
		})
	}
}

// A scheme-relative Location naming another host (tolerated since issue 22) resolves
// to that host, which the caller never configured: Headers must not go there, and the
// upload URL is not stored (a later call would refuse it), yet the upload completes.
func TestSchemeRelativeLocationElsewhereUntrusted(t *testing.T) {
	storage, storageEndpoint := newTusd(t)
	var sawAuth atomic.Int32
	storage.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Header.Get("Authorization") != "" {
			sawAuth.Add(1)
		}
		return false
	})
	api, apiEndpoint := newTusd(t)
	create := tusdtest.CreateOn(storageEndpoint)
	api.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method != http.MethodPost {
			return false
		}
		return tusdtest.Rewrite(func(*http.Request) bool { return true }, func(_ *int, h http.Header) {
			h.Set("Location", "//"+strings.TrimPrefix(h.Get("Location"), "http://"))
		})(w, r, func() http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { create(w, r, nil) })
		}())
	})
	data := randomBytes(3*testChunk+1, 2206)
	store := engine.NewMemoryStore()
	var loc string
	c := &engine.Client{Endpoint: apiEndpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry, Store: store,
		Headers: http.Header{"Authorization": {"Bearer secret"}}}
	ev := engine.Events{OnCreate: func(u string) { loc = u }, OnProgress: func(sent, _ int64) {
		if list, _ := store.List(context.Background()); len(list) != 0 {
			t.Errorf("an upload URL on an origin the caller never configured was stored: %+v", list)
		}
	}}
	res, err := run(context.Background(), c, engine.NewBytesFile("s", data), ev)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc, storageEndpoint) {
		t.Fatalf("upload at %q, not on the storage origin %q", loc, storageEndpoint)
	}
	storage.AssertStored(t, res.URL, data)
	if n := sawAuth.Load(); n != 0 {
		t.Fatalf("the other host received Authorization %d times", n)
	}
}
