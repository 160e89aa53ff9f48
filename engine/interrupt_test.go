package engine_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// Interruptions: tusd's own lock interruption and a caller's cancel mid-body.

// The real thing: a HEAD from elsewhere makes tusd interrupt our PATCH (400
// ERR_UPLOAD_INTERRUPTED, lock released); the engine HEADs and continues.
func TestRealLockInterruption(t *testing.T) {
	if raceEnabled {
		t.Skip("tusd itself races when it interrupts a PATCH; see race_test.go")
	}
	for _, proto := range []string{engine.ProtocolTus1, engine.ProtocolIETFDraft05} {
		t.Run(proto, func(t *testing.T) { realLockInterruption(t, proto) })
	}
}

func realLockInterruption(t *testing.T, proto string) {
	srv := tusdtest.New(t, "", tusdtest.Options{EnableExperimentalProtocol: true})
	endpoint := srv.Start(t)
	data := randomBytes(4*testChunk, 5)
	var uploadURL atomic.Value
	headDone := make(chan struct{})
	f := &gateFile{ReaderAtFile: engine.NewBytesFile("g", data), gateAt: testChunk + testChunk/2, onGate: func() {
		// Competing request while our PATCH holds the lock; tusd releases it by
		// cancelling the PATCH, so this HEAD returns only after that. The PATCH holds
		// the lock once tusd has stored some of its bytes; a HEAD before that would
		// simply go first.
		stored := filepath.Join(srv.Dir, path.Base(uploadURL.Load().(string)))
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			if fi, err := os.Stat(stored); err == nil && fi.Size() > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Error("tusd stored nothing of the gated PATCH")
				break
			}
		}
		resp, err := headStatus(t, uploadURL.Load().(string))
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("competing HEAD: %v %v", resp, err)
		}
		close(headDone)
	}, wait: headDone}
	c := &engine.Client{Endpoint: endpoint, Protocol: proto, ChunkSize: 2 * testChunk, Retry: fastRetry, DisableCreationWithUpload: true} // the gate is for a PATCH
	res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
		return run(ctx, c, f, engine.Events{OnCreate: func(u string) { uploadURL.Store(u) }})
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	interrupted := false
	for _, r := range srv.Requests() {
		interrupted = interrupted || (r.Method == http.MethodPatch && r.Status == http.StatusBadRequest)
	}
	if !interrupted {
		t.Fatalf("tusd never interrupted a PATCH: %v", srv.Requests())
	}
}

// gateFile calls onGate once when a reader reaches gateAt, and blocks that reader
// until wait is closed.
type gateFile struct {
	*engine.ReaderAtFile
	gateAt int64
	onGate func()
	wait   chan struct{}
	fired  atomic.Bool
}

func (g *gateFile) ReadSection(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	rc, err := g.ReaderAtFile.ReadSection(ctx, off, n)
	if err != nil || g.fired.Load() || off > g.gateAt || off+n <= g.gateAt {
		return rc, err
	}
	return &gateReader{ReadCloser: rc, g: g, left: g.gateAt - off}, nil
}

type gateReader struct {
	io.ReadCloser
	g    *gateFile
	left int64
}

func (r *gateReader) Read(p []byte) (int, error) {
	if r.left <= 0 && r.g.fired.CompareAndSwap(false, true) {
		go r.g.onGate()
		<-r.g.wait
	}
	if r.left > 0 && int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.ReadCloser.Read(p)
	r.left -= int64(n)
	return n, err
}

func TestCancelLeavesUploadResumable(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(6*testChunk, 6)
	ctx, cancel := context.WithCancel(context.Background())
	var url string
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk}
	_, err := run(ctx, c, engine.NewBytesFile("c", data), engine.Events{OnCreate: func(u string) { url = u }, OnProgress: func(sent, total int64) {
		if sent >= 2*testChunk {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n := srv.Count(http.MethodPatch); n > 3 {
		t.Fatalf("%d PATCHes after cancelling at the second: cancellation did not stop within one request", n)
	}
	if _, err := c.Upload(context.Background(), engine.NewBytesFile("c", data), engine.UploadURL{URL: url}); err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, url, data)
}
