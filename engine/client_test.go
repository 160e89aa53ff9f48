package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

func TestCreateAndUploadSizes(t *testing.T) {
	for _, size := range []int{0, 1, testChunk - 1, testChunk, testChunk + 1, 5*testChunk + 3} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			srv, endpoint := newTusd(t)
			data := randomBytes(size, uint64(size))
			var progress progressLog
			var createdBeforePatch atomic.Bool
			c := &engine.Client{
				Endpoint:  endpoint,
				ChunkSize: testChunk,
				Metadata:  map[string]string{"filename": "a b.bin", "empty": ""},
			}
			ev := engine.Events{OnProgress: progress.record, OnCreate: func(string) {
				createdBeforePatch.Store(srv.Count(http.MethodPatch) == 0)
			}}
			res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				return run(ctx, c, engine.NewBytesFile("a.bin", data), ev)
			})
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			progress.check(t, int64(size))
			if !createdBeforePatch.Load() {
				t.Error("OnCreate was not called before the first PATCH")
			}
			// The first chunk travels in the POST (creation-with-upload).
			wantPatches := max((size+testChunk-1)/testChunk-1, 0)
			if got := srv.Count(http.MethodPatch); got != wantPatches || srv.Count(http.MethodPost) != 1 {
				t.Errorf("%d POST and %d PATCH requests, want 1 and %d", srv.Count(http.MethodPost), got, wantPatches)
			}
			if res.Size != int64(size) || res.Resumed {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestSplitCreateThenUpload(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(3*testChunk+10, 7)
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk}
	ctx := context.Background()
	url, err := c.Create(ctx, engine.NewBytesFile("x", data))
	if err != nil {
		t.Fatal(err)
	}
	if srv.Count(http.MethodPatch) != 0 {
		t.Fatal("Create sent bytes")
	}
	// Phase 2 with a client that knows only the upload URL.
	up := &engine.Client{ChunkSize: testChunk}
	if _, err := up.Upload(ctx, engine.NewBytesFile("x", data), engine.UploadURL{URL: url}); err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, url, data)

	// Uploading a complete upload again is a single HEAD.
	before := len(srv.Requests())
	if _, err := up.Upload(ctx, engine.NewBytesFile("x", data), engine.UploadURL{URL: url}); err != nil {
		t.Fatal(err)
	}
	if reqs := srv.Requests()[before:]; len(reqs) != 1 || reqs[0].Method != http.MethodHead {
		t.Fatalf("complete upload sent %v, want one HEAD", reqs)
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	_, endpoint := newTusd(t)
	md := map[string]string{"filename": "résumé, final.pdf", "filetype": "application/pdf", "flag": ""}
	c := &engine.Client{Endpoint: endpoint, Metadata: md}
	url, err := c.Create(context.Background(), engine.NewBytesFile("r", []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := headStatus(t, url)
	if err != nil {
		t.Fatal(err)
	}
	got, err := engine.DecodeMetadata(resp.Header.Get("Upload-Metadata"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(md) {
		t.Fatalf("server has metadata %v, want %v", got, md)
	}
}

func TestInvalidOptionsSendNothing(t *testing.T) {
	srv, endpoint := newTusd(t)
	f := engine.NewBytesFile("f", []byte("data"))
	cases := map[string]*engine.Client{
		"key with space":   {Endpoint: endpoint, Metadata: map[string]string{"a b": "x"}},
		"key with comma":   {Endpoint: endpoint, Metadata: map[string]string{"a,b": "x"}},
		"empty key":        {Endpoint: endpoint, Metadata: map[string]string{"": "x"}},
		"non-ASCII key":    {Endpoint: endpoint, Metadata: map[string]string{"naïve": "x"}},
		"header CRLF":      {Endpoint: endpoint, Headers: http.Header{"X-Token": {"a\r\nX-Evil: 1"}}},
		"relative":         {Endpoint: "/files/"},
		"javascript":       {Endpoint: "javascript:alert(1)"},
		"no endpoint":      {},
		"bad allowed list": {Endpoint: endpoint, AllowedOrigins: []string{"ftp://x"}},
	}
	for name, c := range cases {
		if _, err := c.CreateAndUpload(context.Background(), f); !errors.Is(err, engine.ErrInvalidOption) {
			t.Errorf("%s: got %v, want ErrInvalidOption", name, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("invalid options still sent %d requests", n)
	}
}

func TestCapabilities(t *testing.T) {
	srv := tusdtest.New(t, "", tusdtest.Options{MaxSize: 100})
	endpoint := srv.Start(t)
	c := &engine.Client{Endpoint: endpoint, CheckServerCapabilities: true}
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("s", randomBytes(100, 1))); err != nil {
		t.Fatalf("file at the limit: %v", err)
	}
	posts := srv.Count(http.MethodPost)
	_, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("b", randomBytes(101, 1)))
	if !errors.Is(err, engine.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if srv.Count(http.MethodPost) != posts {
		t.Fatal("a POST was sent for a file above Tus-Max-Size")
	}
	// Without the check, tusd's own 413 comes back as ErrTooLarge too.
	c.CheckServerCapabilities = false
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("b", randomBytes(101, 1))); !errors.Is(err, engine.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge from the 413", err)
	}
}

func TestCustomHeadersAndHook(t *testing.T) {
	srv, endpoint := newTusd(t)
	var seen atomic.Int32
	srv.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Header.Get("Authorization") == "Bearer t" && r.Header.Get("X-Hook") == r.Method {
			seen.Add(1)
		}
		return false
	})
	c := &engine.Client{
		Endpoint: endpoint, ChunkSize: testChunk,
		// A custom header must not override a protocol header.
		Headers:       http.Header{"Authorization": {"Bearer t"}, "Tus-Resumable": {"0.2.2"}},
		BeforeRequest: func(r *http.Request) error { r.Header.Set("X-Hook", r.Method); return nil },
	}
	data := randomBytes(2*testChunk, 3)
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("h", data))
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	if int(seen.Load()) != len(srv.Requests()) {
		t.Fatalf("%d of %d requests carried the header and hook", seen.Load(), len(srv.Requests()))
	}
	hookErr := errors.New("no token")
	c.BeforeRequest = func(*http.Request) error { return hookErr }
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("h", data)); !errors.Is(err, hookErr) {
		t.Fatalf("got %v, want the hook's error", err)
	}
}

// Headers go to the endpoint's origin, not to an upload URL on another origin, unless
// that origin is allowed.
func TestHeadersStayOnConfiguredOrigins(t *testing.T) {
	storage, storageEndpoint := newTusd(t)
	var leaked atomic.Int32
	storage.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		return false
	})
	// The "API" server creates uploads on the storage server (another port = origin).
	_, apiEndpoint := newAPI(t, storageEndpoint)
	data := randomBytes(testChunk+1, 9)
	var trusted, untrusted atomic.Int32 // what a transport is told about credentials
	var hooked atomic.Int32
	c := &engine.Client{Endpoint: apiEndpoint, ChunkSize: testChunk, Headers: http.Header{"Authorization": {"Bearer secret"}},
		BeforeRequest: func(*http.Request) error { hooked.Add(1); return nil },
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			withCredentials := engine.RequestCredentials(r) != engine.CredentialsOmit
			if withCredentials != (r.Header.Get("Authorization") != "") {
				return nil, fmt.Errorf("credentials %q for %s %s with headers %v", engine.RequestCredentials(r), r.Method, r.URL, r.Header)
			}
			if withCredentials {
				trusted.Add(1)
			} else {
				untrusted.Add(1)
			}
			return http.DefaultTransport.RoundTrip(r)
		})}
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("o", data))
	if err != nil {
		t.Fatal(err)
	}
	storage.AssertStored(t, res.URL, data)
	if leaked.Load() != 0 {
		t.Fatalf("%d requests leaked Authorization to another origin", leaked.Load())
	}
	// The API server ignores the POST's bytes (no Upload-Offset): a HEAD, then PATCHes.
	if trusted.Load() != 1 || untrusted.Load() != 3 {
		t.Fatalf("trusted %d (want the POST), untrusted %d (want a HEAD and 2 PATCHes)", trusted.Load(), untrusted.Load())
	}
	if hooked.Load() != 1 {
		t.Fatalf("BeforeRequest saw %d requests, want only the trusted POST", hooked.Load())
	}
	c.AllowedOrigins = []string{storageEndpoint}
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("o2", data)); err != nil {
		t.Fatal(err)
	}
	if leaked.Load() == 0 {
		t.Fatal("an allowed origin did not receive the headers")
	}
}

// A large upload streams: the heap never holds the file, only about a chunk.
func TestLargeUploadMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("large upload")
	}
	srv, endpoint := newTusd(t)
	const size = 96 << 20
	f := patternFile{size: size}
	c := &engine.Client{Endpoint: endpoint, ChunkSize: 8 << 20}
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	res, err := c.CreateAndUpload(context.Background(), f)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if n, sum := srv.StoredSum(t, res.URL); n != size || sum != f.sum() {
		t.Fatal("stored bytes differ from the source")
	}
	t.Logf("peak heap %.1f MiB for a %d MiB upload", float64(peak.Load())/(1<<20), size>>20)
	if peak.Load() > 48<<20 {
		t.Fatalf("heap peaked at %d MiB while uploading %d MiB: the file is being buffered", peak.Load()>>20, size>>20)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

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
