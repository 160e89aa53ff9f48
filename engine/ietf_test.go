package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// The IETF draft dialect (Protocol: ietf-draft-05) against tusd with
// EnableExperimentalProtocol: the same transfer loop, other headers.

const draft = engine.ProtocolIETFDraft05

func newDraftTusd(t *testing.T, opts tusdtest.Options) (*tusdtest.Server, string) {
	t.Helper()
	opts.EnableExperimentalProtocol = true
	s := tusdtest.New(t, "", opts)
	return s, s.Start(t)
}

// wire records the protocol headers of every request the server sees.
type wire struct {
	mu   sync.Mutex
	reqs []wireReq
}

type wireReq struct {
	method string
	header http.Header
	n      int64 // body length
}

var protocolHeaders = []string{"Tus-Resumable", "Upload-Draft-Interop-Version", "Upload-Length", "Upload-Defer-Length",
	"Upload-Offset", "Upload-Complete", "Content-Type", "Content-Disposition", "Upload-Metadata"}

func (w *wire) fault() tusdtest.Fault {
	return func(_ http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		h := http.Header{}
		for _, k := range protocolHeaders {
			if v := r.Header.Get(k); v != "" {
				h.Set(k, v)
			}
		}
		w.mu.Lock()
		w.reqs = append(w.reqs, wireReq{r.Method, h, r.ContentLength})
		w.mu.Unlock()
		return false
	}
}

func (w *wire) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, r := range w.reqs {
		s := r.method
		for _, k := range protocolHeaders {
			if v := r.header.Get(k); v != "" {
				s += fmt.Sprintf(" %s: %s;", k, v)
			}
		}
		out = append(out, s)
	}
	return out
}

func TestIETFSizes(t *testing.T) {
	for _, withData := range []bool{true, false} {
		for _, size := range []int{0, 1, testChunk - 1, testChunk, testChunk + 1, 5*testChunk + 3} {
			t.Run(fmt.Sprintf("%d/data=%v", size, withData), func(t *testing.T) {
				srv, endpoint := newDraftTusd(t, tusdtest.Options{})
				var w wire
				srv.Inject(w.fault())
				data := randomBytes(size, uint64(size)+900)
				var progress progressLog
				c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, FixedChunkSize: true,
					DisableCreationWithUpload: !withData, OnProgress: progress.record,
					Metadata: map[string]string{"filename": "naïve file.bin", "filetype": "application/x-test"}}
				res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
					return c.CreateAndUpload(ctx, engine.NewBytesFile("a.bin", data))
				})
				if err != nil {
					t.Fatal(err)
				}
				srv.AssertStored(t, res.URL, data)
				progress.check(t, int64(size))
				for _, r := range w.reqs {
					if r.header.Get("Upload-Draft-Interop-Version") != "6" || r.header.Get("Tus-Resumable") != "" {
						t.Errorf("%s without the draft's version header, or with tus's: %v", r.method, r.header)
					}
				}
				if md := storedMetadata(t, srv, res.URL); md["filename"] != "naïve file.bin" || md["filetype"] != "application/x-test" {
					t.Errorf("tusd stored metadata %v", md)
				}
				patches := (size + testChunk - 1) / testChunk
				if withData {
					patches = max(patches-1, 0)
				}
				if got := srv.Count(http.MethodPatch); got != patches || srv.Count(http.MethodPost) != 1 {
					t.Errorf("%d POST and %d PATCH, want 1 and %d", srv.Count(http.MethodPost), got, patches)
				}
				last := w.reqs[len(w.reqs)-1]
				if last.header.Get("Upload-Complete") != "?1" {
					t.Errorf("last request %s says Upload-Complete %q, want ?1", last.method, last.header.Get("Upload-Complete"))
				}
			})
		}
	}
}

// storedMetadata reads tusd's .info file for an upload.
func storedMetadata(t *testing.T, srv *tusdtest.Server, url string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(srv.Dir, path.Base(url)+".info"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ MetaData map[string]string }
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	return info.MetaData
}

func TestIETF64MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB")
	}
	srv, endpoint := newDraftTusd(t, tusdtest.Options{})
	f := patternFile{size: 64 << 20}
	c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: 8 << 20}
	res, err := withDeadline(t, 60*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, f)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, sum := srv.StoredSum(t, res.URL); n != f.size || sum != f.sum() {
		t.Fatalf("stored %d bytes sha256 %s, want %d %s", n, sum[:16], f.size, f.sum()[:16])
	}
}

func TestIETFRecovers(t *testing.T) {
	cases := []struct {
		name  string
		fault tusdtest.Fault
	}{
		{"5xx burst", tusdtest.Respond(tusdtest.Nth("PATCH", 2, 3, 4), 503, http.Header{"Retry-After": {"0"}}, "busy")},
		{"409 mismatch", tusdtest.Respond(tusdtest.Nth("PATCH", 2, 3), http.StatusConflict, nil, "ERR_MISMATCHED_OFFSET: mismatch")},
		{"tusd interrupted", tusdtest.Respond(tusdtest.Nth("PATCH", 2), http.StatusBadRequest, nil, "ERR_UPLOAD_INTERRUPTED: upload has been interrupted")},
		{"reset mid-body", tusdtest.Truncate(tusdtest.Nth("PATCH", 2, 4), 1000, true)},
		{"partial acceptance", tusdtest.Truncate(tusdtest.Nth("PATCH", 1, 3), 5000, false)},
		{"POST fails", tusdtest.Respond(tusdtest.Nth("POST", 1, 2), 503, nil, "")},
		{"last PATCH reset", tusdtest.Truncate(tusdtest.Nth("PATCH", 5), 10, true)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, endpoint := newDraftTusd(t, tusdtest.Options{})
			srv.Inject(tc.fault)
			data := randomBytes(5*testChunk+1, 31)
			c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, Retry: fastRetry}
			res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewBytesFile("f", data))
			})
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			// Bodies a fault answered itself are counted too (up to three chunks here).
			if sent := srv.BodyBytes.Load(); sent > int64(len(data))+5*testChunk {
				t.Fatalf("sent %d bytes for %d", sent, len(data))
			}
		})
	}
}

// Pause (cancel), then resume from Store as after a reload: one HEAD, the rest sent.
func TestIETFPauseResumeFromStore(t *testing.T) {
	srv, endpoint := newDraftTusd(t, tusdtest.Options{})
	data := randomBytes(6*testChunk+5, 32)
	ctx, cancel := context.WithCancel(context.Background())
	store := engine.NewMemoryStore()
	c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, FixedChunkSize: true, Store: store,
		OnProgress: func(sent, _ int64) {
			if sent >= 2*testChunk {
				cancel()
			}
		}}
	if _, err := c.CreateAndUpload(ctx, engine.NewBytesFile("p", data)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the pause", err)
	}
	c2 := *c
	c2.OnProgress = nil
	res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c2.CreateAndUpload(ctx, engine.NewBytesFile("p", data))
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || srv.Count(http.MethodPost) != 1 || srv.Count(http.MethodHead) != 1 {
		t.Fatalf("resumed %v with %d POST and %d HEAD, want a resume: 1 and 1", res.Resumed, srv.Count(http.MethodPost), srv.Count(http.MethodHead))
	}
	srv.AssertStored(t, res.URL, data)
	if extra := srv.BodyBytes.Load() - int64(len(data)); extra > testChunk {
		t.Fatalf("%d bytes re-sent", extra)
	}
}

// A stream of unknown length: created without Upload-Length, ended by the last
// append's Upload-Complete: ?1 (the draft has no Upload-Defer-Length).
func TestIETFStreams(t *testing.T) {
	for _, size := range []int{0, testChunk, 5*testChunk + 7} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			srv, endpoint := newDraftTusd(t, tusdtest.Options{})
			var w wire
			srv.Inject(w.fault())
			data := randomBytes(size, uint64(size)+970)
			c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, FixedChunkSize: true}
			res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewReaderStream("s", iotestHalfReader(data)))
			})
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			post := w.reqs[0]
			if want := size > testChunk; (post.header.Get("Upload-Length") == "") != want {
				t.Errorf("POST %v: a length is sent exactly when the stream ended in the first chunk", post.header)
			}
			if last := w.reqs[len(w.reqs)-1]; last.header.Get("Upload-Complete") != "?1" {
				t.Errorf("last request %v lacks Upload-Complete: ?1", last.header)
			}
		})
	}
}

// limitServer adds members to the Upload-Limit tusd sends (it names only min-size and
// max-size), as a server with per-request limits would, and records PATCH sizes.
func limitServer(t *testing.T, extra string) (*tusdtest.Server, string, *[]int64) {
	srv, endpoint := newDraftTusd(t, tusdtest.Options{})
	var mu sync.Mutex
	var sizes []int64
	srv.Inject(func(_ http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method == http.MethodPatch || r.Method == http.MethodPost {
			mu.Lock()
			sizes = append(sizes, r.ContentLength)
			mu.Unlock()
		}
		return false
	})
	srv.Inject(tusdtest.Rewrite(func(r *http.Request) bool { return r.Method != http.MethodPatch }, func(_ *int, h http.Header) {
		if v := h.Get("Upload-Limit"); v != "" {
			h.Set("Upload-Limit", v+", "+extra)
		}
	}))
	return srv, endpoint, &sizes
}

func TestIETFUploadLimitBoundsChunks(t *testing.T) {
	data := randomBytes(10*testChunk, 33)
	t.Run("max-append-size", func(t *testing.T) {
		srv, endpoint, sizes := limitServer(t, "max-append-size=50000")
		c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: 4 * testChunk, DisableCreationWithUpload: true}
		res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("l", data))
		if err != nil {
			t.Fatal(err)
		}
		srv.AssertStored(t, res.URL, data)
		for _, n := range *sizes {
			if n > 50000 {
				t.Fatalf("a request of %d bytes, above max-append-size 50000: %v", n, *sizes)
			}
		}
	})
	t.Run("min-append-size", func(t *testing.T) {
		srv, endpoint, sizes := limitServer(t, "min-append-size=200000")
		c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, CheckServerCapabilities: true}
		res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("l", data))
		if err != nil {
			t.Fatal(err)
		}
		srv.AssertStored(t, res.URL, data)
		s := *sizes
		for _, n := range s[:len(s)-1] {
			if n < 200000 {
				t.Fatalf("a request of %d bytes below min-append-size 200000: %v", n, s)
			}
		}
	})
}

// tusd in draft mode does not refuse a creation above MaxSize (its tus 1.0.0 POST
// does); it names max-size in Upload-Limit, and the client fails with TOO_LARGE: before
// any request with OPTIONS, else after the POST, deleting that upload.
func TestIETFTooLarge(t *testing.T) {
	for _, check := range []bool{true, false} {
		t.Run(fmt.Sprint("options=", check), func(t *testing.T) {
			srv, endpoint := newDraftTusd(t, tusdtest.Options{MaxSize: 1000})
			c := &engine.Client{Endpoint: endpoint, Protocol: draft, CheckServerCapabilities: check, DisableCreationWithUpload: true}
			_, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("big", randomBytes(1001, 34)))
			if !errors.Is(err, engine.ErrTooLarge) || engine.Code(err) != "TOO_LARGE" {
				t.Fatalf("got %v, want TOO_LARGE", err)
			}
			posts, deletes := srv.Count(http.MethodPost), srv.Count(http.MethodDelete)
			if check && posts != 0 || !check && (posts != 1 || deletes != 1) || srv.Count(http.MethodPatch) != 0 {
				t.Fatalf("requests %v", srv.Requests())
			}
			t.Log(err)
		})
	}
}

func TestIETFRefusesWhatTheDraftLacks(t *testing.T) {
	srv, endpoint := newDraftTusd(t, tusdtest.Options{})
	f := engine.NewBytesFile("x", randomBytes(10, 35))
	for name, c := range map[string]engine.Client{
		"parallelUploads":    {ParallelUploads: 2},
		"parallelBoundaries": {ParallelBoundaries: []engine.Part{{Start: 0, End: 5}, {Start: 5, End: 10}}},
		"checksum":           {Checksum: "sha256"},
		"other metadata":     {Metadata: map[string]string{"filename": "a", "owner": "b"}},
		"bad filetype":       {Metadata: map[string]string{"filetype": "not a type"}},
		"unknown protocol":   {Protocol: "ietf-draft-99"},
	} {
		if c.Protocol == "" {
			c.Protocol = draft
		}
		c.Endpoint = endpoint
		if _, err := c.CreateAndUpload(context.Background(), f); !errors.Is(err, engine.ErrInvalidOption) {
			t.Errorf("%s: got %v, want INVALID_OPTION", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

// TestWireBothDialects logs the requests of the same upload in each dialect (2.5
// chunks, paused after the first PATCH, resumed, then terminated) and compares them
// with what tus 1.0.0 and draft-ietf-httpbis-resumable-upload-05 prescribe.
func TestWireBothDialects(t *testing.T) {
	size := 2*testChunk + testChunk/2
	n, half := strconv.Itoa(size), strconv.Itoa(testChunk)
	want := map[string][]string{
		engine.ProtocolTus1: {
			"POST Tus-Resumable: 1.0.0; Upload-Length: " + n + "; Content-Type: application/offset+octet-stream; Upload-Metadata: filename YS5iaW4=;",
			"PATCH Tus-Resumable: 1.0.0; Upload-Offset: " + half + "; Content-Type: application/offset+octet-stream;",
			"HEAD Tus-Resumable: 1.0.0;",
			"PATCH Tus-Resumable: 1.0.0; Upload-Offset: " + strconv.Itoa(2*testChunk) + "; Content-Type: application/offset+octet-stream;",
			"DELETE Tus-Resumable: 1.0.0;",
		},
		// draft -05: creation is a POST with Upload-Complete (and Upload-Length when
		// known), appends are PATCHes of application/partial-upload naming their offset,
		// the last one with Upload-Complete: ?1; offset retrieval is HEAD, cancellation
		// DELETE; every request names interop version 6.
		draft: {
			"POST Upload-Draft-Interop-Version: 6; Upload-Length: " + n + "; Upload-Complete: ?0; Content-Disposition: attachment; filename=a.bin;",
			"PATCH Upload-Draft-Interop-Version: 6; Upload-Offset: " + half + "; Upload-Complete: ?0; Content-Type: application/partial-upload;",
			"HEAD Upload-Draft-Interop-Version: 6;",
			"PATCH Upload-Draft-Interop-Version: 6; Upload-Offset: " + strconv.Itoa(2*testChunk) + "; Upload-Complete: ?1; Content-Type: application/partial-upload;",
			"DELETE Upload-Draft-Interop-Version: 6;",
		},
	}
	for _, proto := range []string{engine.ProtocolTus1, draft} {
		t.Run(proto, func(t *testing.T) {
			srv, endpoint := newDraftTusd(t, tusdtest.Options{})
			var w wire
			srv.Inject(w.fault())
			data := randomBytes(size, 36)
			ctx, cancel := context.WithCancel(context.Background())
			var loc string
			c := &engine.Client{Endpoint: endpoint, Protocol: proto, ChunkSize: testChunk, FixedChunkSize: true,
				Metadata: map[string]string{"filename": "a.bin"}, OnCreate: func(u string) { loc = u },
				OnProgress: func(sent, _ int64) {
					if sent == 2*testChunk {
						cancel()
					}
				}}
			if _, err := c.CreateAndUpload(ctx, engine.NewBytesFile("a.bin", data)); !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want the pause", err)
			}
			c.OnProgress = nil
			if _, err := c.Upload(context.Background(), engine.NewBytesFile("a.bin", data), engine.UploadURL{URL: loc, FromServer: true}); err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, loc, data)
			if err := c.Terminate(context.Background(), engine.UploadURL{URL: loc, FromServer: true}); err != nil {
				t.Fatal(err)
			}
			got := w.lines()
			for i, l := range got {
				t.Logf("%d %s", i+1, l)
			}
			// tus: Terminate asks first (HEAD) whether the upload is a final one with parts.
			if proto == engine.ProtocolTus1 && len(got) == 6 && got[4] == got[2] {
				got = append(got[:4], got[5])
			}
			if fmt.Sprint(got) != fmt.Sprint(want[proto]) {
				t.Errorf("requests differ from the protocol's; want\n%s", want[proto])
			}
		})
	}
}

// The hostile-server table in the draft dialect, less what only tus has
// (Tus-Resumable, and 201/204 where the draft takes any 2xx), plus the draft's own
// lies: an Upload-Complete that is no boolean, or that claims an unfinished upload.
func TestIETFBrokenServers(t *testing.T) {
	byMethod := func(_, m string) func(*http.Request) bool {
		return func(r *http.Request) bool { return m == "" || r.Method == m }
	}
	cases := tusdtest.HostileCases(byMethod)
	onHead := func(name, value string) tusdtest.Fault {
		return tusdtest.Rewrite(method(http.MethodHead), setHeader(name, value))
	}
	cases = append(cases,
		tusdtest.HostileCase{Name: "Upload-Complete not a boolean", Fault: onHead("Upload-Complete", "yes"), Code: "PROTOCOL", Resume: true},
		tusdtest.HostileCase{Name: "Upload-Complete ?1 too early", Fault: tusdtest.Rewrite(method(http.MethodHead), func(_ *int, h http.Header) {
			h.Set("Upload-Complete", "?1")
			h.Set("Upload-Offset", "10")
		}), Code: "PROTOCOL", Resume: true},
		tusdtest.HostileCase{Name: "HEAD without Upload-Offset", Fault: onHead("Upload-Offset", ""), Code: "PROTOCOL", Resume: true},
	)
	for _, tc := range cases {
		switch tc.Name {
		case "no Tus-Resumable", "Tus-Resumable 0.2.2", "200 instead of 201", "200 instead of 204":
			continue
		}
		if tc.Side == tusdtest.BrowserOnly {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			data := randomBytes(2*testChunk, 37)
			srv, endpoint := newDraftTusd(t, tusdtest.Options{})
			srv.Inject(tc.Fault)
			c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, Retry: fastRetry}
			_, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				res, err := c.CreateAndUpload(ctx, engine.NewBytesFile("b", data))
				if err == nil && tc.Resume {
					_, err = c.Upload(ctx, engine.NewBytesFile("b", data), engine.UploadURL{URL: res.URL})
				}
				return res, err
			})
			if got := engine.Code(err); err == nil || got != tc.Code {
				t.Fatalf("got %s (%v), want %s", got, err, tc.Code)
			}
			if n := len(srv.Requests()); n > 2*(fastRetry.MaxRetries+2) {
				t.Fatalf("%d requests: retried a hopeless server", n)
			}
			t.Log(err)
		})
	}
}
