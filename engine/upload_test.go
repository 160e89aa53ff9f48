package engine_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
)

// One Upload run from two goroutines at once: one upload on the server (one POST),
// both runs end with the same complete result, the bytes stored.
func TestUploadRunConcurrently(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(5*testChunk+7, 301)
	c := &engine.Client{Endpoint: endpoint, Store: engine.NewMemoryStore(), ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	up, err := c.NewUpload(engine.NewBytesFile("twice.bin", data), engine.UploadURL{}, engine.Events{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	res := make([]engine.Result, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = withDeadline(t, 20*time.Second, up.Run)
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
	}
	if res[0].URL != res[1].URL || res[0].Size != int64(len(data)) || res[1].Size != int64(len(data)) {
		t.Fatalf("results differ: %+v %+v", res[0], res[1])
	}
	if n := srv.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs for one Upload run twice", n)
	}
	srv.AssertStored(t, res[0].URL, data)
}

// Terminate while a Run is going: the run is cancelled by its caller (as the wasm
// handle does), Terminate deletes what the run created and forgets it in Store, and
// a later Run does not bring the deleted upload back as a success.
func TestUploadTerminateDuringRun(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(6*testChunk, 302)
	store := engine.NewMemoryStore()
	c := &engine.Client{Endpoint: endpoint, Store: store, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urlSeen := make(chan string, 1)
	ev := engine.Events{OnProgress: func(sent, _ int64) {
		if sent >= 2*testChunk {
			cancel()
		}
	}, OnUploadURL: func(u string) { urlSeen <- u }}
	up, err := c.NewUpload(engine.NewBytesFile("term.bin", data), engine.UploadURL{}, ev)
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() {
		_, err := up.Run(ctx)
		runErr <- err
	}()
	var u string
	select {
	case u = <-urlSeen:
	case <-time.After(10 * time.Second):
		t.Fatal("no upload URL")
	}
	if _, err := withDeadline(t, 10*time.Second, func(tctx context.Context) (any, error) { return nil, up.Terminate(tctx) }); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	select {
	case err := <-runErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("run ended with %v, want the cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not end")
	}
	if resp, err := headStatus(t, u); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HEAD after Terminate: %v %v", resp, err)
	}
	if l, _ := store.List(context.Background()); len(l) != 0 {
		t.Fatalf("Store keeps %v after Terminate", l)
	}
	if _, err := withDeadline(t, 10*time.Second, up.Run); err == nil {
		t.Fatal("Run after Terminate succeeded")
	}
	_ = srv
}

// A parallel Upload without Store, paused once every part exists: the next Run of the
// same Upload continues its parts (no new part is created), and after a second pause
// Terminate deletes every part it made.
func TestUploadParallelWithoutStorePauseResumeTerminate(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 16 * testChunk
	data := randomBytes(size, 303)
	c := &engine.Client{Endpoint: endpoint, ParallelUploads: 4, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	var mu sync.Mutex
	var pauseAt int64 = size / 4
	ctx, cancel := context.WithCancel(context.Background())
	ev := engine.Events{OnProgress: func(sent, _ int64) {
		mu.Lock()
		defer mu.Unlock()
		patched := map[string]bool{} // a part PATCHed is one whose URL the run knows
		for _, r := range srv.Requests() {
			if r.Method == http.MethodPatch {
				patched[r.Path] = true
			}
		}
		if sent >= pauseAt && len(patched) == 4 {
			cancel()
		}
	}}
	up, err := c.NewUpload(engine.NewBytesFile("par.bin", data), engine.UploadURL{}, ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want the pause", err)
	}
	posts := srv.Count(http.MethodPost)
	mu.Lock()
	pauseAt = size * 3 / 4
	mu.Unlock()
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	if _, err := up.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("second run: %v, want the pause", err)
	}
	if n := srv.Count(http.MethodPost); n != posts {
		t.Fatalf("%d POSTs after the second run, %d before: the resumed run created parts anew", n, posts)
	}
	if err := up.Terminate(context.Background()); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	// tusd keeps an .info file per upload: none is left.
	left, err := filepath.Glob(filepath.Join(srv.Dir, "*.info"))
	if err != nil || len(left) != 0 {
		t.Fatalf("%d uploads left on the server after Terminate (%v): %v", len(left), err, left)
	}
}

// A parallel Upload whose parts the server put on another origin (an API in front of
// upload storage), paused, then terminated: the parts this Upload sent to are deleted
// too (without the caller's headers, as its PATCHes went), not left on the server.
// Before, Terminate kept only the parts on trusted origins, a filter meant for what
// Store returns, though these came from this Upload's own run.
func TestUploadTerminateDeletesPartsOnAnotherOrigin(t *testing.T) {
	storage, storageEndpoint := newTusd(t)
	_, endpoint := newAPI(t, storageEndpoint)
	var leaked sync.Map
	storage.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Header.Get("Authorization") != "" {
			leaked.Store(r.Method, true)
		}
		return false
	})
	const size = 8 * testChunk
	data := randomBytes(size, 304)
	c := &engine.Client{Endpoint: endpoint, ParallelUploads: 2, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry,
		Headers: http.Header{"Authorization": {"Bearer s3cret"}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := engine.Events{OnProgress: func(sent, _ int64) {
		patched := map[string]bool{}
		for _, r := range storage.Requests() {
			if r.Method == http.MethodPatch {
				patched[r.Path] = true
			}
		}
		if len(patched) == 2 {
			cancel()
		}
	}}
	up, err := c.NewUpload(engine.NewBytesFile("elsewhere.bin", data), engine.UploadURL{}, ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := withDeadline(t, 20*time.Second, func(context.Context) (engine.Result, error) { return up.Run(ctx) }); !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v, want the pause", err)
	}
	if left, _ := filepath.Glob(filepath.Join(storage.Dir, "*.info")); len(left) != 2 {
		t.Fatalf("%d uploads on the storage origin after the pause, want the 2 parts", len(left))
	}
	if err := up.Terminate(context.Background()); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(storage.Dir, "*.info")); len(left) != 0 {
		t.Fatalf("%d parts left on the storage origin after Terminate: %v", len(left), left)
	}
	leaked.Range(func(m, _ any) bool {
		t.Errorf("the storage origin received the caller's Authorization on a %s", m)
		return true
	})
}
