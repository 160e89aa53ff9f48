package engine_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// A small file sent whole (no fingerprint, Store or lock) still ends byte-exact when
// the one request does not do: a server that ignores the creation's body, a proxy
// that refuses bodies over 100 KiB (413: the chunk halves, several PATCHes), a
// connection reset mid-POST, a checksum mismatch (460), an empty file. The Store and
// the lock stay untouched throughout: the call never learnt a fingerprint.
func TestWholeUnderHostileServers(t *testing.T) {
	tooLarge := func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.ContentLength <= 100<<10 {
			return false
		}
		return tusdtest.Respond(func(*http.Request) bool { return true }, http.StatusRequestEntityTooLarge, nil, "")(w, r, nil)
	}
	cases := []struct {
		name     string
		size     int
		checksum string
		setup    func(srv *tusdtest.Server)
	}{
		{"creation body ignored", 300 << 10, "", func(srv *tusdtest.Server) {
			srv.Inject(tusdtest.Truncate(method(http.MethodPost), 0, false))
		}},
		{"413 over 100 KiB", 400 << 10, "", func(srv *tusdtest.Server) { srv.Inject(tooLarge) }},
		{"reset mid-POST", 512 << 10, "", func(srv *tusdtest.Server) {
			srv.Inject(tusdtest.Truncate(tusdtest.Nth(http.MethodPost, 1), 1000, true))
		}},
		{"460 checksum mismatch", 200 << 10, "sha256", func(srv *tusdtest.Server) {
			srv.VerifyChecksums()
			srv.Inject(tusdtest.FlipByte(tusdtest.Nth(http.MethodPatch, 1)))
		}},
		{"empty file", 0, "", func(*tusdtest.Server) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			tc.setup(srv)
			store := &countingStore{MemoryStore: engine.NewMemoryStore(), due: true}
			var locks atomic.Int32
			c := &engine.Client{Endpoint: endpoint, Store: store, Retry: fastRetry, Checksum: tc.checksum,
				Lock: func(context.Context, string) (func(), error) { locks.Add(1); return nil, nil }}
			data := randomBytes(tc.size, 77)
			res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewBytesFile("w.bin", data))
			})
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			if got := store.calls(); got != "" || locks.Load() != 0 {
				t.Fatalf("Store calls %q, %d locks for a file sent whole", got, locks.Load())
			}
			t.Logf("requests: %v", srv.Requests())
		})
	}
}

// An Upload whose first run sent a small file whole and was paused after the creation
// continues that upload on the next run (no second creation): the URL lives in the
// Upload. That run knows the URL, so it is a resumption: locked, and stored until the
// upload completes.
func TestWholePausedUploadContinues(t *testing.T) {
	srv, endpoint := newTusd(t)
	tap, fault := tusdtest.NewTap(method(http.MethodPatch), 64<<10, true)
	srv.Inject(fault)
	defer tap.Release()
	store := &countingStore{MemoryStore: engine.NewMemoryStore(), due: true}
	var locks atomic.Int32
	c := &engine.Client{Endpoint: endpoint, Store: store, Retry: fastRetry, DisableCreationWithUpload: true,
		Lock: func(context.Context, string) (func(), error) { locks.Add(1); return nil, nil }}
	data := randomBytes(300<<10, 78)
	up, err := c.NewUpload(engine.NewBytesFile("p.bin", data), engine.UploadURL{}, engine.Events{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := up.Run(ctx)
		done <- err
	}()
	select {
	case <-tap.Reached:
	case <-time.After(10 * time.Second):
		t.Fatal("the PATCH never reached the server")
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the paused run succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the paused run did not end")
	}
	tap.Release()
	if got := store.calls(); got != "" || locks.Load() != 0 {
		t.Fatalf("first run: Store calls %q, %d locks", got, locks.Load())
	}
	res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) { return up.Run(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	if n := srv.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d creations; want the paused upload continued", n)
	}
	if locks.Load() != 1 {
		t.Fatalf("%d locks in the continuing run; want 1", locks.Load())
	}
	if l, _ := store.List(context.Background()); len(l) != 0 {
		t.Fatalf("entries left after completion: %+v", l)
	}
}
