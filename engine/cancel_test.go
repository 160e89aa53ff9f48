package engine_test

// Cancellation (a pause) at every request boundary and mid-body, and concurrent calls
// on one Client (run with -race).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// Cancelling before or after any request of a call (with a 5xx and a 409 in the way
// so HEADs happen too) leaves an upload the next CreateAndUpload resumes from Store,
// byte-exact, re-sending at most one chunk.
func TestCancelAtEveryRequest(t *testing.T) {
	const size = 5*testChunk + 3
	data := randomBytes(size, 90)
	for k := 1; k <= 9; k++ {
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("req%d-after=%v", k, after), func(t *testing.T) {
				srv, endpoint := newTusd(t)
				srv.Inject(tusdtest.Respond(tusdtest.Nth("PATCH", 2), 503, nil, ""))
				srv.Inject(tusdtest.Respond(tusdtest.Nth("PATCH", 4), 409, nil, ""))
				store := engine.NewMemoryStore()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var n atomic.Int32
				c := &engine.Client{Endpoint: endpoint, Store: store, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry,
					Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
						hit := n.Add(1) == int32(k)
						if hit && !after {
							cancel()
						}
						resp, err := http.DefaultTransport.RoundTrip(r)
						if hit && after {
							cancel()
						}
						return resp, err
					})}
				f := engine.NewBytesFile("c.bin", data)
				_, err := c.CreateAndUpload(ctx, f)
				if err == nil {
					return // k beyond the call's requests
				}
				if engine.Code(err) != engine.CodeAborted {
					t.Fatalf("cancelled call: %v (code %s), want ABORTED", err, engine.Code(err))
				}
				before := srv.BodyBytes.Load()
				res, err := c.CreateAndUpload(context.Background(), f)
				if err != nil {
					t.Fatal(err)
				}
				srv.AssertStored(t, res.URL, data)
				if extra := srv.BodyBytes.Load() - before; srv.Count("POST") == 1 && extra > size-before+2*testChunk {
					t.Fatalf("resume sent %d bytes with %d already sent", extra, before)
				}
				if l, _ := store.List(context.Background()); len(l) != 0 {
					t.Fatalf("store keeps %+v after success", l)
				}
			})
		}
	}
}

// cancelMidBody cancels ctx once a PATCH body has been half read (armed once the
// upload exists: reads before, such as the fingerprint's, pass).
type cancelMidBody struct {
	*engine.ReaderAtFile
	cancel func()
	at     int64
	once   sync.Once
	armed  atomic.Bool
}

func (f *cancelMidBody) ReadSection(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	rc, err := f.ReaderAtFile.ReadSection(ctx, off, n)
	if err != nil || !f.armed.Load() || off+n <= f.at || off > f.at {
		return rc, err
	}
	return &cutReader{ReadCloser: rc, left: f.at - off, f: f}, nil
}

type cutReader struct {
	io.ReadCloser
	left int64
	f    *cancelMidBody
}

func (r *cutReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		r.f.once.Do(r.f.cancel)
		time.Sleep(20 * time.Millisecond)
	}
	if r.left > 0 && int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.ReadCloser.Read(p)
	r.left -= int64(n)
	return n, err
}

func TestCancelMidBodyResumes(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(4*testChunk, 91)
	store := engine.NewMemoryStore()
	ctx, cancel := context.WithCancel(context.Background())
	f := &cancelMidBody{ReaderAtFile: engine.NewBytesFile("m.bin", data), cancel: cancel, at: testChunk + testChunk/2}
	// A pause inside the creation POST's body leaves no URL to resume (the server made
	// an upload the client never heard of): this probe is about PATCH bodies.
	c := &engine.Client{Endpoint: endpoint, Store: store, ChunkSize: 2 * testChunk, FixedChunkSize: true, Retry: fastRetry, DisableCreationWithUpload: true}
	if _, err := run(ctx, c, f, engine.Events{OnCreate: func(string) { f.armed.Store(true) }}); engine.Code(err) != engine.CodeAborted {
		t.Fatalf("got %v", err)
	}
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("m.bin", data))
	if err != nil || !res.Resumed {
		t.Fatalf("%+v %v", res, err)
	}
	srv.AssertStored(t, res.URL, data)
}

// badStore fails or returns garbage in every way a Store can.
type badStore struct {
	mode string
	mu   sync.Mutex
	puts int
}

var errStore = errors.New("quota exceeded")

func (s *badStore) Get(_ context.Context, fp string) (engine.StoredUpload, bool, error) {
	switch s.mode {
	case "get error":
		return engine.StoredUpload{}, true, errStore
	case "garbage":
		return engine.StoredUpload{Fingerprint: fp, URL: "http://[::1", Size: -1}, true, nil
	case "zero":
		return engine.StoredUpload{}, true, nil
	case "other fp":
		return engine.StoredUpload{Fingerprint: "tus1-other", URL: "http://127.0.0.1:1/x", Size: 1}, true, nil
	}
	return engine.StoredUpload{}, false, nil
}
func (s *badStore) Put(context.Context, engine.StoredUpload) error {
	s.mu.Lock()
	s.puts++
	s.mu.Unlock()
	return errStore
}
func (s *badStore) Delete(context.Context, string) error { return errStore }
func (s *badStore) List(context.Context) ([]engine.StoredUpload, error) {
	return []engine.StoredUpload{{URL: "::::"}, {}}, errStore
}

// One Client, many concurrent calls (different files, and the same file twice without
// a lock) under -race: every call either completes byte-exact or fails cleanly.
func TestConcurrentCalls(t *testing.T) {
	srv, endpoint := newTusd(t)
	store := engine.NewMemoryStore()
	c := &engine.Client{Endpoint: endpoint, Store: store, ChunkSize: testChunk, Retry: fastRetry,
		Headers: http.Header{"X-A": {"1"}}}
	ev := engine.Events{OnProgress: func(int64, int64) {}, OnUploadURL: func(string) {}}
	var wg sync.WaitGroup
	files := [][]byte{randomBytes(3*testChunk, 93), randomBytes(2*testChunk+5, 94), randomBytes(1, 95)}
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := files[i%len(files)]
			res, err := run(context.Background(), c, engine.NewBytesFile(fmt.Sprint("f", i%len(files)), data), ev)
			if err != nil {
				t.Logf("call %d: %v", i, err)
				return
			}
			srv.AssertStored(t, res.URL, data)
		}()
	}
	wg.Wait()
}
