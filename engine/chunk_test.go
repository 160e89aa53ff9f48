package engine_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// bodySizes records the size of every request body that carries upload bytes (PATCH,
// and the POST with the first chunk); with rate > 0 it also delivers the bodies to tusd
// at about rate bytes/s (a slow link, simulated).
func bodySizes(t *testing.T, rate int64) (*[]int64, func(), string, *tusdtest.Server) {
	srv, endpoint := newTusd(t)
	var mu sync.Mutex
	var sizes []int64
	srv.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method == http.MethodPatch || r.Method == http.MethodPost && r.ContentLength > 0 {
			mu.Lock()
			sizes = append(sizes, r.ContentLength)
			mu.Unlock()
			if rate > 0 {
				r.Body = &slowBody{r: r.Body, rate: rate}
			}
		}
		return false
	})
	check := func() {
		mu.Lock()
		defer mu.Unlock()
		t.Logf("body sizes: %v", sizes)
	}
	return &sizes, check, endpoint, srv
}

type slowBody struct {
	r    io.ReadCloser
	rate int64
}

func (b *slowBody) Read(p []byte) (int, error) {
	p = p[:min(len(p), int(b.rate/100))] // 10 ms worth
	n, err := b.r.Read(p)
	time.Sleep(time.Duration(n) * time.Second / time.Duration(b.rate)) // the link's speed, not synchronisation
	return n, err
}

func (b *slowBody) Close() error { return b.r.Close() }

// On a slow link the chunk shrinks toward TargetRequestTime; on a fast one it grows to
// ChunkSize; FixedChunkSize keeps every chunk at ChunkSize.
func TestChunkSizeAdapts(t *testing.T) {
	t.Run("slow link", func(t *testing.T) {
		sizes, log, endpoint, srv := bodySizes(t, 2<<20) // 2 MiB/s
		data := randomBytes(2<<20, 41)
		c := &engine.Client{Endpoint: endpoint, ChunkSize: 8 << 20, TargetRequestTime: 100 * time.Millisecond}
		res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("slow", data))
		if err != nil {
			t.Fatal(err)
		}
		srv.AssertStored(t, res.URL, data)
		log()
		// ~200 KiB per 100 ms at 2 MiB/s; allow for timing noise, but far below 8 MiB.
		for _, n := range (*sizes)[1:] {
			if n > 512<<10 {
				t.Fatalf("a %d-byte PATCH on a link that moves ~200 KiB per target time", n)
			}
		}
	})
	t.Run("fast link", func(t *testing.T) {
		sizes, log, endpoint, srv := bodySizes(t, 0)
		data := randomBytes(24<<20, 42)
		c := &engine.Client{Endpoint: endpoint, ChunkSize: 4 << 20}
		res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("fast", data))
		if err != nil {
			t.Fatal(err)
		}
		srv.AssertStored(t, res.URL, data)
		log()
		if (*sizes)[0] != 512<<10 || slices.Max(*sizes) != 4<<20 {
			t.Fatalf("body sizes %v: want a 512 KiB start growing to the 4 MiB maximum", *sizes)
		}
	})
	t.Run("fixed", func(t *testing.T) {
		sizes, _, endpoint, srv := bodySizes(t, 0)
		data := randomBytes(3*testChunk+1, 43)
		c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, FixedChunkSize: true}
		res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("fixed", data))
		if err != nil {
			t.Fatal(err)
		}
		srv.AssertStored(t, res.URL, data)
		if want := []int64{testChunk, testChunk, testChunk, 1}; !slices.Equal(*sizes, want) {
			t.Fatalf("body sizes %v, want %v", *sizes, want)
		}
	})
}

// 9. A 413 on a grown chunk (a proxy's body limit) halves the chunk and goes on, and
// the ceiling holds for the rest of the upload.
func TestPatch413HalvesChunk(t *testing.T) {
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Respond(func(r *http.Request) bool {
		return r.Method == http.MethodPatch && r.ContentLength > 1<<20
	}, http.StatusRequestEntityTooLarge, nil, "<html>413 Request Entity Too Large</html>"))
	data := randomBytes(8<<20, 44)
	c := &engine.Client{Endpoint: endpoint, Retry: fastRetry}
	res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("big", data))
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	refused := 0
	for _, r := range srv.Requests() {
		if r.Status == http.StatusRequestEntityTooLarge {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("%d PATCHes refused with 413, want exactly one (then the ceiling holds)", refused)
	}
	// A 413 at the floor is the server's answer, not the chunk size: HTTP, not TOO_LARGE.
	srv.Inject(tusdtest.Respond(method("PATCH"), http.StatusRequestEntityTooLarge, nil, ""))
	c.DisableCreationWithUpload = true
	_, err = c.CreateAndUpload(context.Background(), engine.NewBytesFile("any", randomBytes(testChunk, 1)))
	if engine.Code(err) != "HTTP" {
		t.Fatalf("got %v (%s), want HTTP 413", err, engine.Code(err))
	}
}
