package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// The IETF draft dialect against hostile or odd servers: lies in its headers, odd
// limits, lost completion flags; each ends as it should.

// askStream is a ReaderStream that records the largest section asked of it and refuses
// absurd ones (instead of allocating them), so a test can see what a server's limits
// made the engine ask for.
type askStream struct {
	*engine.ReaderStream
	mu     sync.Mutex
	maxAsk int64
}

func (s *askStream) Section(ctx context.Context, off, n int64) (io.ReadCloser, int64, bool, error) {
	s.mu.Lock()
	s.maxAsk = max(s.maxAsk, n)
	s.mu.Unlock()
	if n > 1<<30 {
		return nil, 0, false, io.ErrShortBuffer
	}
	return s.ReaderStream.Section(ctx, off, n)
}

// A server's min-append-size raises the chunk ceiling to itself; for a stream, which
// buffers every byte of a request in memory, an absurd minimum (here 10^15-1 bytes)
// became a request for that many bytes: ReaderStream allocates it (the process dies
// out of memory). A stream must never be asked for more than it can reasonably keep.
func TestIETFHugeMinAppendOnStream(t *testing.T) {
	for _, caps := range []bool{false, true} {
		t.Run(fmt.Sprintf("CheckServerCapabilities=%v", caps), func(t *testing.T) {
			srv, endpoint, _ := limitServer(t, "min-append-size=999999999999999")
			data := randomBytes(3*testChunk, 41)
			s := &askStream{ReaderStream: engine.NewReaderStream("s", iotestHalfReader(data))}
			c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, Retry: fastRetry,
				DisableCreationWithUpload: true, CheckServerCapabilities: caps}
			_, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, s)
			})
			if !errors.Is(err, engine.ErrUnsupportedServer) {
				t.Errorf("got %v, want ErrUnsupportedServer", err)
			}
			if s.maxAsk > 64<<20 {
				t.Fatalf("the stream was asked for %d bytes in one request", s.maxAsk)
			}
			if caps && srv.Count(http.MethodPost) != 0 {
				t.Errorf("OPTIONS named the limit, yet %d POST", srv.Count(http.MethodPost))
			}
		})
	}
}

// A stream of unknown length, mid-way: a HEAD that says Upload-Complete: ?1 with no
// length fixes the length at the server's offset, and the call reports success though
// the stream had more bytes, never read (silent truncation).
func TestIETFStreamHeadCompleteLie(t *testing.T) {
	srv, endpoint := newDraftTusd(t, tusdtest.Options{})
	srv.Inject(tusdtest.Respond(tusdtest.Nth("PATCH", 2), 503, http.Header{"Retry-After": {"0"}}, "busy"))
	srv.Inject(tusdtest.Rewrite(func(r *http.Request) bool { return r.Method == http.MethodHead }, func(_ *int, h http.Header) {
		h.Del("Upload-Length")
		h.Set("Upload-Complete", "?1")
	}))
	data := randomBytes(6*testChunk, 42)
	c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewReaderStream("s", iotestHalfReader(data)))
	})
	if err == nil {
		t.Fatalf("success (size %d) for a stream of %d bytes the server said was complete early", res.Size, len(data))
	}
}

// A Store entry made under one protocol, taken up by a call of the other: the
// fingerprint does not name the protocol, so the entry is shared. Against tusd, which
// serves both on one upload, the upload must come out whole either way.
func TestIETFStoreAcrossProtocols(t *testing.T) {
	for _, tc := range []struct{ first, second string }{{engine.ProtocolTus1, draft}, {draft, engine.ProtocolTus1}} {
		t.Run(tc.first+"->"+tc.second, func(t *testing.T) {
			srv, endpoint := newDraftTusd(t, tusdtest.Options{})
			data := randomBytes(6*testChunk+5, 43)
			c := &engine.Client{Endpoint: endpoint, Protocol: tc.first, ChunkSize: testChunk, FixedChunkSize: true, Store: engine.NewMemoryStore(),
				Metadata: map[string]string{"filename": "a.bin"}, Retry: fastRetry}
			pauseAt(t, c, engine.NewBytesFile("p", data), 2*testChunk)
			c2 := *c
			c2.Protocol = tc.second
			res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c2.CreateAndUpload(ctx, engine.NewBytesFile("p", data))
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("resumed %v, %d POST", res.Resumed, srv.Count(http.MethodPost))
			srv.AssertStored(t, res.URL, data)
		})
	}
}

// Metadata that needs quoting or encoding in Content-Disposition reaches tusd intact.
func TestIETFFilenames(t *testing.T) {
	for _, name := range []string{`a "quoted" \ name.txt`, "crlf\r\nX-Injected: 1.txt", "日本語.txt", "tab\tname", strings.Repeat("n", 4000) + ".bin", "a;b=c, d.txt"} {
		t.Run(fmt.Sprintf("%.20q", name), func(t *testing.T) {
			srv, endpoint := newDraftTusd(t, tusdtest.Options{})
			data := randomBytes(100, 44)
			c := &engine.Client{Endpoint: endpoint, Protocol: draft, Metadata: map[string]string{"filename": name, "filetype": "text/plain; charset=utf-8"}}
			res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewBytesFile("f", data))
			})
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			if md := srv.Metadata(t, res.URL); md["filename"] != name {
				t.Errorf("tusd stored filename %.60q, want %.60q (metadata %.200v)", md["filename"], name, md)
			}
		})
	}
}

// Lies and oddities in the draft's headers: every call ends within its deadline, and a
// success has the whole file stored; the code is the one a careful client would give.
func TestIETFLies(t *testing.T) {
	set := func(m func(*http.Request) bool, kv ...string) tusdtest.Fault {
		return tusdtest.Rewrite(m, func(_ *int, h http.Header) {
			for i := 0; i < len(kv); i += 2 {
				if kv[i+1] == "" {
					h.Del(kv[i])
				} else {
					h.Set(kv[i], kv[i+1])
				}
			}
		})
	}
	status := func(m func(*http.Request) bool, code int) tusdtest.Fault {
		return tusdtest.Rewrite(m, func(s *int, _ http.Header) { *s = code })
	}
	busy := func() tusdtest.Fault {
		return tusdtest.Respond(tusdtest.Nth("PATCH", 2), 503, http.Header{"Retry-After": {"0"}}, "busy")
	}
	cases := []struct {
		name   string
		faults []tusdtest.Fault
		stream bool
		code   string // "" : success with the data stored
	}{
		{"HEAD complete before the end", []tusdtest.Fault{busy(), set(method("HEAD"), "Upload-Complete", "?1")}, false, "PROTOCOL"},
		{"HEAD complete, no length, short", []tusdtest.Fault{busy(), set(method("HEAD"), "Upload-Complete", "?1", "Upload-Length", "")}, false, "FILE_CHANGED"},
		{"HEAD other length", []tusdtest.Fault{busy(), set(method("HEAD"), "Upload-Length", "7")}, false, "FILE_CHANGED"},
		{"HEAD Upload-Complete junk", []tusdtest.Fault{busy(), set(method("HEAD"), "Upload-Complete", "yes")}, false, "PROTOCOL"},
		{"HEAD length on a stream", []tusdtest.Fault{busy(), set(method("HEAD"), "Upload-Length", "999999")}, true, "PROTOCOL"},
		{"PATCH offset past sent", []tusdtest.Fault{set(tusdtest.Nth("PATCH", 2), "Upload-Offset", "99999999")}, false, "PROTOCOL"},
		{"PATCH 200", []tusdtest.Fault{status(method("PATCH"), 200)}, false, ""},
		{"PATCH says incomplete after the last", []tusdtest.Fault{set(method("PATCH"), "Upload-Complete", "?0")}, false, ""},
		{"409 with a lying offset", []tusdtest.Fault{tusdtest.Respond(tusdtest.Nth("PATCH", 2), 409, http.Header{"Upload-Offset": {"99999999"}}, "")}, false, ""},
		{"POST 200", []tusdtest.Fault{status(method("POST"), 200)}, false, ""},
		{"POST 204", []tusdtest.Fault{status(method("POST"), 204)}, false, ""},
		{"POST offset past body", []tusdtest.Fault{set(method("POST"), "Upload-Offset", "99999999")}, false, "PROTOCOL"},
		{"POST no Location", []tusdtest.Fault{set(method("POST"), "Location", "")}, false, "PROTOCOL"},
		{"POST javascript Location", []tusdtest.Fault{set(method("POST"), "Location", "javascript:alert(1)")}, false, "PROTOCOL"},
		{"Upload-Limit malformed", []tusdtest.Fault{set(func(*http.Request) bool { return true }, "Upload-Limit", "max-size=1,,")}, false, ""},
		{"Upload-Limit max-size 0", []tusdtest.Fault{set(method("POST"), "Upload-Limit", "max-size=0")}, false, "TOO_LARGE"},
		{"Upload-Limit max-append below min", []tusdtest.Fault{set(method("POST"), "Upload-Limit", "max-append-size=1000, min-append-size=5000")}, false, ""},
		{"Upload-Limit negative", []tusdtest.Fault{set(method("POST"), "Upload-Limit", "max-size=-1, max-append-size=-7")}, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, endpoint := newDraftTusd(t, tusdtest.Options{})
			for _, f := range tc.faults {
				srv.Inject(f)
			}
			data := randomBytes(5*testChunk+3, 45)
			var src engine.Source = engine.NewBytesFile("f", data)
			if tc.stream {
				src = engine.NewReaderStream("s", iotestHalfReader(data))
			}
			c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
			res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, src)
			})
			if got := engine.Code(err); got != tc.code {
				t.Errorf("code %q (%v), want %q", got, err, tc.code)
			}
			if err == nil {
				srv.AssertStored(t, res.URL, data)
			}
		})
	}
}

// A server that fakes progress in the draft: every PATCH answered 204 with one byte
// more, never storing anything. The call must end within the retry budget.
func TestIETFFakeProgressEnds(t *testing.T) {
	srv, endpoint := newDraftTusd(t, tusdtest.Options{})
	srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method != http.MethodPatch {
			return false
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Upload-Offset", fmt.Sprint(tusdtest.Offset(r)+1))
		w.WriteHeader(http.StatusNoContent)
		return true
	})
	data := randomBytes(5*testChunk, 46)
	c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, Retry: fastRetry, DisableCreationWithUpload: true}
	_, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("f", data))
	})
	if err == nil {
		t.Fatal("success against a server that stores nothing")
	}
	if n := srv.Count(http.MethodPatch); n > 4*(fastRetry.MaxRetries+1) {
		t.Fatalf("%d PATCHes before giving up (%v)", n, err)
	}
	t.Logf("%d PATCH: %v", srv.Count(http.MethodPatch), err)
}

// A stream's last append reaches the server without its Upload-Complete (a proxy drops
// it) and its reply is lost: the HEAD then shows every byte but no length, and the
// call must end the upload with an empty append that says Upload-Complete: ?1.
func TestIETFStreamCompletionLost(t *testing.T) {
	srv, endpoint := newDraftTusd(t, tusdtest.Options{})
	var w wire
	var fired atomic.Bool
	srv.Inject(func(rw http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method != http.MethodPatch || r.Header.Get("Upload-Complete") != "?1" || fired.Swap(true) {
			return false
		}
		r.Header.Set("Upload-Complete", "?0")
		next.ServeHTTP(httptest.NewRecorder(), r)
		rw.WriteHeader(http.StatusBadGateway)
		return true
	})
	srv.Inject(w.fault())
	data := randomBytes(3*testChunk+9, 47)
	c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewReaderStream("s", iotestHalfReader(data)))
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	if last := w.reqs[len(w.reqs)-1]; last.method != http.MethodPatch || last.header.Get("Upload-Complete") != "?1" {
		t.Fatalf("last request %s %v", last.method, last.header)
	}
	if !fired.Load() {
		t.Fatal("the fault never fired")
	}
}

// A draft creation reply whose Location is on another origin: the caller's headers
// (credentials) never reach it, as in tus 1.0.0 (TestTrustHolds).
func TestIETFCrossOriginLocation(t *testing.T) {
	foreign, foreignEndpoint := newDraftTusd(t, tusdtest.Options{})
	var leaks atomic.Int32
	foreign.Inject(func(_ http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Header.Get("Authorization") != "" {
			leaks.Add(1)
		}
		return false
	})
	data := randomBytes(testChunk+7, 48)
	target, err := (&engine.Client{Endpoint: foreignEndpoint, Protocol: draft}).Create(context.Background(), engine.NewBytesFile("x", data))
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range []string{target, "//" + strings.TrimPrefix(target, "http://")} {
		srv, endpoint := newDraftTusd(t, tusdtest.Options{})
		srv.Inject(tusdtest.Rewrite(method("POST"), func(_ *int, h http.Header) { h.Set("Location", loc) }))
		c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, Retry: fastRetry,
			Headers: http.Header{"Authorization": {"Bearer secret"}}}
		_, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
			return c.CreateAndUpload(ctx, engine.NewBytesFile("x", data))
		})
		t.Logf("Location %s: %v", loc, err)
	}
	if n := leaks.Load(); n != 0 {
		t.Fatalf("Authorization reached the foreign origin %d times", n)
	}
}

// A Store entry made with tus 1.0.0 against a server that speaks only tus, taken up by
// a call set to the draft (a configuration switched by mistake): the call fails, and
// the entry (a good tus upload) should survive for a call with the right protocol.
func TestIETFStoreEntryOnTusOnlyServer(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(6*testChunk+5, 49)
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true, Store: engine.NewMemoryStore(), Retry: fastRetry}
	pauseAt(t, c, engine.NewBytesFile("p", data), 2*testChunk)
	d := *c
	d.Protocol = draft
	_, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
		return d.CreateAndUpload(ctx, engine.NewBytesFile("p", data))
	})
	t.Logf("draft call: %v; requests %v", err, srv.Requests())
	res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("p", data))
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	if !res.Resumed {
		t.Errorf("the tus call started anew: the draft call dropped the stored tus upload")
	}
}

// The draft's 104 (Upload Resumption Supported) interim reply names the upload before
// the POST's body is sent, so that a creation whose connection breaks can be resumed.
// The engine never reads it (fetch cannot see 1xx replies): a POST that carried the
// whole file and broke after the 104 is sent again from byte 0, as a new upload, and
// the first is left on the server.
func TestIETF104Resumption(t *testing.T) {
	t.Skip("finding: the 104 interim reply's Location is ignored; a broken creation POST is retried as a new upload (re-sending its bytes, orphaning the first); reading it needs httptrace.Got1xxResponse natively and is impossible under fetch: a design decision, not a local fix")
	srv, endpoint := newDraftTusd(t, tusdtest.Options{})
	var fired atomic.Bool
	srv.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method != http.MethodPost || fired.Swap(true) {
			return false
		}
		r2 := r.Clone(r.Context())
		r2.Body, r2.ContentLength = io.NopCloser(io.LimitReader(r.Body, 1000)), 1000
		r2.Header.Set("Content-Length", "1000")
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r2)
		w.Header().Set("Location", rec.Header().Get("Location"))
		w.Header().Set("Upload-Draft-Interop-Version", "6")
		w.WriteHeader(104)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return true
	})
	data := randomBytes(testChunk, 50)
	c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: 2 * testChunk, Retry: fastRetry}
	res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("f", data))
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	if n := srv.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d creation POSTs: the 104's upload was not resumed", n)
	}
}

// A stream of unknown length above the server's max-size (Upload-Limit names it on the
// creation reply, but a stream's size is not known then): the call should end with
// TOO_LARGE. It succeeds: tusd's draft handler stores a deferred-length upload past its
// MaxSize (its tus 1.0.0 handler refuses the declared length with 400), and the engine
// checks max-size only against a size it knows at creation or on a HEAD.
func TestIETFStreamAboveMaxSize(t *testing.T) {
	t.Skip("finding: a stream of unknown length is not held to the Upload-Limit max-size it was told on creation; tusd's draft handler stores it past MaxSize. Enforcing it needs the limit kept on the call and checked in patch (transfer.go): not local to the dialect")
	srv, endpoint := newDraftTusd(t, tusdtest.Options{MaxSize: 2*testChunk + 1})
	data := randomBytes(5*testChunk, 51)
	c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewReaderStream("s", iotestHalfReader(data)))
	})
	if err == nil {
		n, _ := srv.StoredSum(t, res.URL)
		t.Fatalf("a stream above max-size succeeded (%d bytes stored; %v)", n, srv.Requests())
	}
	t.Logf("%s: %v; %d requests", engine.Code(err), err, len(srv.Requests()))
	if n := len(srv.Requests()); n > 20 {
		t.Fatalf("%d requests", n)
	}
}
