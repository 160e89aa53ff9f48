package engine_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

const testChunk = 64 << 10

// fastRetry keeps recovery tests quick; the policy itself is the default one scaled down.
var fastRetry = engine.Retry{MaxRetries: 4, InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// newTusd starts tusd behind the fault injector and returns it with its endpoint.
func newTusd(t *testing.T) (*tusdtest.Server, string) {
	t.Helper()
	s := tusdtest.New(t, "", tusdtest.Options{})
	return s, s.Start(t)
}

// newAPI starts a tus server whose creations make the upload on storageEndpoint, on
// an origin of its own: an API in front of upload storage.
func newAPI(t *testing.T, storageEndpoint string) (*tusdtest.Server, string) {
	t.Helper()
	api, endpoint := newTusd(t)
	api.Inject(tusdtest.CreateOn(storageEndpoint))
	return api, endpoint
}

// progressLog records OnProgress calls and checks they are monotonic.
type progressLog struct {
	mu    sync.Mutex
	calls [][2]int64
}

func (p *progressLog) record(sent, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, [2]int64{sent, total})
}

func (p *progressLog) check(t *testing.T, total int64) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) == 0 {
		t.Fatal("OnProgress never called")
	}
	last := int64(-1)
	for _, c := range p.calls {
		if c[1] != total || c[0] <= last || c[0] > total {
			t.Fatalf("progress not monotonic within [0,%d]: %v", total, p.calls)
		}
		last = c[0]
	}
	if last != total {
		t.Fatalf("progress ended at %d, want %d", last, total)
	}
}

// withDeadline runs f and fails the test if it does not return in d (no hangs).
func withDeadline[T any](t *testing.T, d time.Duration, f func(ctx context.Context) (T, error)) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	v, err := f(ctx)
	if ctx.Err() != nil {
		t.Fatalf("call did not finish within %v (last error: %v)", d, err)
	}
	return v, err
}

// patternFile is a large deterministic File generated on the fly, so tests can
// upload files far bigger than they hold in memory.
type patternFile struct{ size int64 }

func (p patternFile) Name() string { return "pattern.bin" }
func (p patternFile) Size() int64  { return p.size }
func (p patternFile) ReadSection(_ context.Context, off, n int64) (io.ReadCloser, error) {
	return io.NopCloser(io.NewSectionReader(p, off, n)), nil
}
func (p patternFile) ReadAt(b []byte, off int64) (int, error) {
	if off >= p.size {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.size-off)
	for i := range n {
		x := uint64(off + i)
		b[i] = byte(x*2654435761>>13 ^ x)
	}
	if n < int64(len(b)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

func (p patternFile) sum() string {
	h := sha256.New()
	_, _ = io.Copy(h, io.NewSectionReader(p, 0, p.size))
	return hex.EncodeToString(h.Sum(nil))
}

// flakyFile ends early on demand, as a file truncated on disk would.
type flakyFile struct {
	*engine.ReaderAtFile
	data []byte
	cut  int
}

func newFlakyFile(b []byte, cut int) *flakyFile {
	f := &flakyFile{data: b, cut: cut}
	f.ReaderAtFile = &engine.ReaderAtFile{R: bytes.NewReader(b[:cut]), FileName: "flaky", Length: int64(len(b))}
	return f
}

func headStatus(t *testing.T, url string) (*http.Response, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, url, nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

// pauseAt uploads f with c and cancels the call, as a pause does, once the server has
// confirmed at least at bytes; the call must end canceled.
func pauseAt(t *testing.T, c *engine.Client, f engine.File, at int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := engine.Events{OnProgress: func(sent, _ int64) {
		if sent >= at {
			cancel()
		}
	}}
	if _, err := run(ctx, c, f, ev); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the pause", err)
	}
}

// run uploads src with c, as Client.CreateAndUpload does, with ev's callbacks.
func run(ctx context.Context, c *engine.Client, src engine.Source, ev engine.Events) (engine.Result, error) {
	return runAt(ctx, c, src, engine.UploadURL{}, ev)
}

// runAt sends src to the upload at at (empty: as run), as Client.Upload does, with ev.
func runAt(ctx context.Context, c *engine.Client, src engine.Source, at engine.UploadURL, ev engine.Events) (engine.Result, error) {
	u, err := c.NewUpload(src, at, ev)
	if err != nil {
		return engine.Result{}, err
	}
	return u.Run(ctx)
}

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
