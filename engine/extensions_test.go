package engine_test

// The tus extensions beyond the core: creation-with-upload, creation-defer-length
// (streams of unknown length), checksum and expiration. tusd v2 implements the first
// two; checksum verification and expiration come from internal/tusdtest, which
// implements them in front of tusd as the protocol describes.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// A small file is one request: the POST carries it (creation-with-upload).
func TestCreationWithUpload(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(100<<10, 60)
	c := &engine.Client{Endpoint: endpoint}
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("small", data))
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	if reqs := srv.Requests(); len(reqs) != 1 || reqs[0].Method != http.MethodPost {
		t.Fatalf("requests %v, want one POST", reqs)
	}
	// Turned off: a POST and a PATCH.
	c.DisableCreationWithUpload = true
	before := len(srv.Requests())
	res, err = c.CreateAndUpload(context.Background(), engine.NewBytesFile("small2", data))
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	if n := len(srv.Requests()) - before; n != 2 {
		t.Fatalf("%d requests without creation-with-upload, want 2", n)
	}
}

// Servers without the extension, and POSTs interrupted in each way, end with the file
// stored byte-exact.
func TestCreationWithUploadFallbacks(t *testing.T) {
	data := randomBytes(3*testChunk+5, 61)
	stripBody := func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		// A server without creation-with-upload: it creates and ignores the bytes.
		if r.Method != http.MethodPost {
			return false
		}
		_, _ = io.Copy(io.Discard, r.Body)
		r2 := r.Clone(r.Context())
		r2.Body, r2.ContentLength = http.NoBody, 0
		r2.Header.Del("Content-Type")
		next.ServeHTTP(w, r2)
		return true
	}
	cases := []struct {
		name   string
		fault  tusdtest.Fault
		caps   bool // CheckServerCapabilities
		posts  int  // POSTs expected
		bodies int  // POSTs that carried bytes
	}{
		{"server ignores the bytes", stripBody, false, 1, 1},
		{"415 for a POST with bytes", tusdtest.Respond(func(r *http.Request) bool { return r.Method == http.MethodPost && r.ContentLength > 0 },
			http.StatusUnsupportedMediaType, nil, "no bodies here"), false, 2, 1},
		{"proxy's body limit (413)", tusdtest.Respond(func(r *http.Request) bool { return r.Method == http.MethodPost && r.ContentLength > 0 },
			http.StatusRequestEntityTooLarge, nil, "<html>413</html>"), false, 2, 1},
		{"OPTIONS without the extension", tusdtest.Rewrite(method("OPTIONS"), setHeader("Tus-Extension", "creation,termination")), true, 1, 0},
		// The connection breaks in the POST's body before any reply: start over.
		{"POST reset, no Location", tusdtest.Truncate(tusdtest.Nth("POST", 1), 1000, true), false, 2, 2},
		// The server named the upload, then failed on the bytes: continue it (HEAD).
		{"POST failed after Location", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !tusdtest.Nth("POST", 1)(r) {
				return false
			}
			r2 := r.Clone(r.Context())
			r2.Body = io.NopCloser(io.LimitReader(r.Body, 1000))
			r2.ContentLength = 1000
			r2.Header.Set("Content-Length", "1000")
			rec := newRecorder()
			next.ServeHTTP(rec, r2)
			w.Header().Set("Location", rec.Header().Get("Location"))
			w.Header().Set("Tus-Resumable", "1.0.0")
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}, false, 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			var bodies atomic.Int32
			srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
				if r.Method == http.MethodPost && r.ContentLength > 0 {
					bodies.Add(1)
				}
				return false
			})
			srv.Inject(tc.fault)
			c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Retry: fastRetry, CheckServerCapabilities: tc.caps}
			res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewBytesFile("f", data))
			})
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			if n := srv.Count(http.MethodPost); n != tc.posts || int(bodies.Load()) != tc.bodies {
				t.Fatalf("%d POSTs, %d with bytes; want %d and %d", n, bodies.Load(), tc.posts, tc.bodies)
			}
		})
	}
}

// Streams of unknown length: created with Upload-Defer-Length, the length declared
// with the last PATCH; one that ends within the first chunk is created with its length.
func TestStreamsOfUnknownLength(t *testing.T) {
	for _, size := range []int{0, 1, testChunk - 1, testChunk, testChunk + 1, 5*testChunk + 7} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			srv, endpoint := newTusd(t)
			data := randomBytes(size, uint64(size)+70)
			var progress progressLog
			var deferred atomic.Bool
			srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
				deferred.Store(deferred.Load() || r.Header.Get("Upload-Defer-Length") == "1")
				return false
			})
			c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true}
			ev := engine.Events{OnProgress: func(sent, total int64) {
				if total >= 0 {
					progress.record(sent, total)
				}
			}}
			res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				return run(ctx, c, engine.NewReaderStream("s", iotestHalfReader(data)), ev)
			})
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			if res.Size != int64(size) || res.Resumed {
				t.Fatalf("result %+v", res)
			}
			if want := size > testChunk; deferred.Load() != want {
				t.Fatalf("Upload-Defer-Length used: %v, want %v (a stream that ends in the first chunk has a length)", deferred.Load(), want)
			}
			if srv.BodyBytes.Load() != int64(size) {
				t.Fatalf("%d bytes sent for %d", srv.BodyBytes.Load(), size)
			}
		})
	}
}

// iotestHalfReader yields data in small, uneven reads, as a pipe does.
func iotestHalfReader(data []byte) io.Reader {
	return &unevenReader{data: data}
}

type unevenReader struct {
	data []byte
	n    int
}

func (r *unevenReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	r.n++
	k := min(len(p), len(r.data), 1000+r.n*777)
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}

// A stream survives a connection reset mid-PATCH (the unconfirmed chunk is kept and
// re-sent) and a pause: the same stream continues in a later call.
func TestStreamRecoversAndResumes(t *testing.T) {
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Truncate(tusdtest.Nth("PATCH", 2), 1000, true))
	data := randomBytes(8*testChunk+3, 71)
	s := engine.NewReaderStream("s", bytes.NewReader(data))
	ctx, cancel := context.WithCancel(context.Background())
	var loc string
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	ev := engine.Events{OnUploadURL: func(u string) { loc = u }, OnProgress: func(sent, _ int64) {
		if sent >= 5*testChunk {
			cancel()
		}
	}}
	if _, err := run(ctx, c, s, ev); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the pause", err)
	}
	res, err := c.Upload(context.Background(), s, engine.UploadURL{URL: loc, FromServer: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	if extra := srv.BodyBytes.Load() - int64(len(data)); extra < 0 || extra > 2*testChunk {
		t.Fatalf("%d bytes re-sent", extra)
	}
}

// A stream whose declared length is wrong, a server without creation-defer-length,
// and a server that lost bytes a stream already let go of, each end with a clear error.
func TestStreamErrors(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(3*testChunk, 72)
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Retry: fastRetry}
	short := &engine.ReaderStream{R: bytes.NewReader(data), FileName: "short", Length: int64(len(data)) + 10}
	if _, err := c.CreateAndUpload(context.Background(), short); !errors.Is(err, engine.ErrFileChanged) {
		t.Fatalf("stream shorter than its length: got %v, want ErrFileChanged", err)
	}
	srv.Inject(tusdtest.Rewrite(method("OPTIONS"), setHeader("Tus-Extension", "creation,creation-with-upload")))
	c.CheckServerCapabilities = true
	before := srv.Count(http.MethodPost)
	big := randomBytes(4*testChunk, 73) // more than a chunk: its length stays unknown
	if _, err := c.CreateAndUpload(context.Background(), engine.NewReaderStream("s", bytes.NewReader(big))); !errors.Is(err, engine.ErrUnsupportedServer) {
		t.Fatalf("no creation-defer-length: got %v, want ErrUnsupportedServer", err)
	}
	if srv.Count(http.MethodPost) != before {
		t.Fatal("a POST was sent to a server without creation-defer-length")
	}
	if _, err := c.CreateAndUpload(context.Background(), engine.NewReaderStream("s", bytes.NewReader(data[:10]))); err != nil {
		t.Fatalf("a stream that ends in its first chunk needs no deferral: %v", err)
	}
}

// Checksums: a byte flipped in flight is caught (460) and the chunk re-sent; without
// a checksum the same fault stores corrupt bytes, which shows the test can fail.
func TestChecksumCatchesCorruption(t *testing.T) {
	data := randomBytes(4*testChunk, 74)
	for _, alg := range []string{"", "sha1", "sha256", "sha512"} {
		t.Run("checksum "+alg, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			srv.VerifyChecksums()
			srv.Inject(tusdtest.FlipByte(tusdtest.Nth("PATCH", 2)))
			c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry, Checksum: alg}
			res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("c", data))
			if err != nil {
				t.Fatal(err)
			}
			got := srv.Stored(t, res.URL)
			if alg == "" {
				if bytes.Equal(got, data) {
					t.Fatal("the flipped byte did not reach storage: the fault is not working")
				}
				return
			}
			srv.AssertStored(t, res.URL, data)
			mismatches := 0
			for _, r := range srv.Requests() {
				if r.Status == 460 {
					mismatches++
				}
			}
			if mismatches != 1 {
				t.Fatalf("%d 460 replies, want 1", mismatches)
			}
		})
	}
	// The server must list the algorithm; an unknown name is refused before anything.
	srv, endpoint := newTusd(t)
	c := &engine.Client{Endpoint: endpoint, Checksum: "sha256", Retry: fastRetry}
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("c", data)); !errors.Is(err, engine.ErrUnsupportedServer) {
		t.Fatalf("tusd without checksums: got %v, want ErrUnsupportedServer", err)
	}
	srv.VerifyChecksums()
	c.Checksum = "md4"
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("c", data)); !errors.Is(err, engine.ErrInvalidOption) {
		t.Fatalf("unknown algorithm: got %v, want ErrInvalidOption", err)
	}
}

// Expiration: Upload-Expires reaches the result and the stored entry; an entry past
// its expiry is dropped without a request and removed; listings leave it out.
func TestExpiration(t *testing.T) {
	srv, endpoint := newTusd(t)
	var skew atomic.Int64 // the server's clock, ahead of ours by this much
	srv.Expiration(time.Hour, func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
	store := engine.NewMemoryStore()
	data := randomBytes(4*testChunk, 75)
	ctx, cancel := context.WithCancel(context.Background())
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Store: store, Retry: fastRetry}
	ev := engine.Events{OnProgress: func(sent, _ int64) {
		if sent >= 2*testChunk {
			cancel()
		}
	}}
	f := engine.NewBytesFile("e.bin", data)
	if _, err := run(ctx, c, f, ev); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the pause", err)
	}
	prev, _ := c.FindPreviousUploads(context.Background(), f)
	if len(prev) != 1 || time.Until(prev[0].ExpiresAt) < 59*time.Minute || time.Until(prev[0].ExpiresAt) > time.Hour {
		t.Fatalf("stored %+v, want an expiry an hour ahead", prev)
	}
	// The server's clock runs two hours ahead: the upload it reported is now expired,
	// and the client, reading the entry, knows it without asking.
	skew.Store(int64(2 * time.Hour))
	stored := prev[0]
	stored.ExpiresAt = time.Now().Add(-time.Minute)
	_ = store.Put(context.Background(), stored)
	if l, _ := c.ListUploads(context.Background()); len(l) != 0 {
		t.Fatalf("ListUploads shows expired %+v", l)
	}
	_ = store.Put(context.Background(), stored)
	before := len(srv.Requests())
	res, err := c.CreateAndUpload(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()[before:]
	if res.Resumed || reqs[0].Method != http.MethodPost {
		t.Fatalf("%+v after %v: the expired entry was used", res, reqs)
	}
	srv.AssertStored(t, res.URL, data)
	if res.ExpiresAt.IsZero() {
		t.Fatal("the result carries no expiry")
	}
	// A server that expires the upload under us answers 410: EXPIRED.
	_, err = c.Upload(context.Background(), f, engine.UploadURL{URL: stored.URL})
	if !errors.Is(err, engine.ErrUploadExpired) {
		t.Fatalf("got %v, want ErrUploadExpired for a 410", err)
	}
}

// newRecorder is an http.ResponseWriter that keeps the reply.
func newRecorder() *recorder { return &recorder{h: http.Header{}} }

type recorder struct {
	h    http.Header
	code int
	body strings.Builder
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(code int)        { r.code = code }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// The OPTIONS a stream of unknown length (or a checksum) sends first follows the rules
// of every other request: a 429 or 408 is retried, a 401 is HTTP 401 (the caller's
// ShouldRetry or token refresh keys on it); only a server without OPTIONS (404, 405,
// 501) is CAPABILITY.
func TestOptionsFailuresRetriedAndTyped(t *testing.T) {
	for _, tc := range []struct {
		status int
		header []string
		retry  bool // want the upload to go on after one such reply
	}{
		{http.StatusTooManyRequests, []string{"Retry-After", "0"}, true},
		{http.StatusRequestTimeout, nil, true},
		{http.StatusServiceUnavailable, nil, true}, // the control: 5xx is retried
		{http.StatusUnauthorized, nil, false},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			srv, endpoint := newTusd(t)
			first := tusdtest.Nth("OPTIONS", 1)
			srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
				if first(r) {
					return reply(w, r, tc.status, tc.header...)
				}
				return false
			})
			data := randomBytes(4*testChunk+5, 2203)
			var asked atomic.Int32
			c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
			if !tc.retry {
				c.ShouldRetry = func(_ context.Context, err error, _ int) (bool, error) {
					asked.Add(1)
					return false, nil
				}
			}
			res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewReaderStream("s", bytes.NewReader(data)))
			})
			if tc.retry {
				if err != nil {
					t.Fatalf("one %d on the OPTIONS a stream sends first: %v (%s), want it retried as on any other request", tc.status, err, engine.Code(err))
				}
				srv.AssertStored(t, res.URL, data)
				return
			}
			var he *engine.HTTPError
			if !errors.As(err, &he) || he.Status != tc.status {
				t.Fatalf("a %d on OPTIONS: got %v (%s, ShouldRetry asked %d times), want an HTTPError %d as a POST's %d would be", tc.status, err, engine.Code(err), asked.Load(), tc.status, tc.status)
			}
		})
	}
}
