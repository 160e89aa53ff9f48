package engine_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

func TestStoreResumesAfterInterruption(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(6*testChunk+5, 21)
	store := engine.NewMemoryStore()
	ctx, cancel := context.WithCancel(context.Background())
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Store: store,
		Metadata: map[string]string{"filename": "s.bin"}}
	f := engine.NewBytesFile("s.bin", data)
	if _, err := run(ctx, c, f, engine.Events{OnProgress: func(sent, _ int64) {
		if sent >= 3*testChunk {
			cancel()
		}
	}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	prev, err := c.FindPreviousUploads(context.Background(), f)
	if err != nil || len(prev) != 1 || prev[0].Size != int64(len(data)) || prev[0].URL == "" || prev[0].CreatedAt.IsZero() {
		t.Fatalf("stored uploads %+v, %v", prev, err)
	}
	sentBefore := srv.BodyBytes.Load()

	res, err := c.CreateAndUpload(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.URL != prev[0].URL || srv.Count(http.MethodPost) != 1 {
		t.Fatalf("did not resume: %+v, %d POSTs", res, srv.Count(http.MethodPost))
	}
	srv.AssertStored(t, res.URL, data)
	if extra := srv.BodyBytes.Load() - int64(len(data)); extra > testChunk {
		t.Fatalf("%d bytes re-sent (before resuming: %d)", extra, sentBefore)
	}
	if l, _ := store.List(context.Background()); len(l) != 0 {
		t.Fatalf("store not cleaned after success: %+v", l)
	}
}

func TestStoreEntryForGoneUploadIsReplaced(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(testChunk, 22)
	store := engine.NewMemoryStore()
	f := engine.NewBytesFile("g.bin", data)
	c := &engine.Client{Endpoint: endpoint, Store: store}
	ctx := context.Background()
	fp, _ := c.Fingerprint(ctx, f)
	// An entry for an upload the server deleted, and one with a broken URL.
	gone, err := c.Create(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Terminate(ctx, engine.UploadURL{URL: gone}); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{gone, "javascript:alert(1)"} {
		_ = store.Put(ctx, engine.StoredUpload{Fingerprint: fp, URL: url, Size: int64(len(data)), CreatedAt: time.Now()})
		res, err := c.CreateAndUpload(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if res.Resumed || res.URL == gone {
			t.Fatalf("used the stale entry %s: %+v", url, res)
		}
		srv.AssertStored(t, res.URL, data)
	}
}

func TestFingerprint(t *testing.T) {
	base := engine.Fingerprint("a", 1, time.Unix(5, 0), "http://x/files/", nil)
	for name, other := range map[string]string{
		"name":     engine.Fingerprint("b", 1, time.Unix(5, 0), "http://x/files/", nil),
		"size":     engine.Fingerprint("a", 2, time.Unix(5, 0), "http://x/files/", nil),
		"modtime":  engine.Fingerprint("a", 1, time.Unix(6, 0), "http://x/files/", nil),
		"endpoint": engine.Fingerprint("a", 1, time.Unix(5, 0), "http://y/files/", nil),
		"boundary": engine.Fingerprint("a1", 1, time.Unix(5, 0), "http://x/files/", nil),
		"content":  engine.Fingerprint("a", 1, time.Unix(5, 0), "http://x/files/", []byte{1}),
	} {
		if other == base {
			t.Errorf("fingerprint ignores %s", name)
		}
	}
	if engine.Fingerprint("a", 1, time.Unix(5, 0), "http://x/files/", nil) != base {
		t.Error("fingerprint not stable")
	}
}

// Entries nobody created or continued for StoreMaxAge are dropped when the Store is
// read; one in use is kept (and marked used); a Store that refuses entries is reported.
func TestStorePruningAndFailures(t *testing.T) {
	srv, endpoint := newTusd(t)
	ctx := context.Background()
	store := engine.NewMemoryStore()
	old := time.Now().Add(-8 * 24 * time.Hour)
	_ = store.Put(ctx, engine.StoredUpload{Fingerprint: "tus2-abandoned", URL: endpoint + "gone", Size: 5, CreatedAt: old})
	_ = store.Put(ctx, engine.StoredUpload{Fingerprint: "tus2-used", URL: endpoint + "kept", Size: 5, CreatedAt: old, UsedAt: time.Now()})
	c := &engine.Client{Endpoint: endpoint, Store: store, ChunkSize: 4, FixedChunkSize: true} // not sent whole
	data := randomBytes(10, 1)
	if _, err := c.CreateAndUpload(ctx, engine.NewBytesFile("p", data)); err != nil {
		t.Fatal(err)
	}
	l, _ := store.List(ctx)
	if len(l) != 1 || l[0].Fingerprint != "tus2-used" {
		t.Fatalf("after an upload the store holds %+v, want only the recently used entry", l)
	}
	c.StoreMaxAge = -1 // never by age
	_ = store.Put(ctx, engine.StoredUpload{Fingerprint: "tus2-abandoned", URL: endpoint + "gone", Size: 5, CreatedAt: old})
	if l, _ := c.ListUploads(ctx); len(l) != 2 {
		t.Fatalf("StoreMaxAge -1 pruned: %+v", l)
	}
	res, err := (&engine.Client{Endpoint: endpoint, Store: refusingStore{store}, ChunkSize: 4, FixedChunkSize: true}).CreateAndUpload(ctx, engine.NewBytesFile("q", data))
	if err != nil || !res.StoreFailed {
		t.Fatalf("%+v, %v: want success with StoreFailed", res, err)
	}
	srv.AssertStored(t, res.URL, data)
}

type refusingStore struct{ *engine.MemoryStore }

func (refusingStore) Put(context.Context, engine.StoredUpload) error {
	return errors.New("QuotaExceededError")
}

// An entry's age counts from its last use, and an upload being sent is never pruned:
// another call with a far shorter StoreMaxAge (listUploads from another part of the
// page) drops idle entries but not the one in use; a parallel upload's resume marks
// its entry used.
func TestStoreEntryAgeFromLastUse(t *testing.T) {
	srv, endpoint := newTusd(t)
	ctx := context.Background()
	store := engine.NewMemoryStore()
	const size = 4 * testChunk
	data := randomBytes(size, 23)
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method == http.MethodPatch && tusdtest.Offset(r) == 2*testChunk {
			once.Do(func() {
				close(held)
				<-release
			})
		}
		return false
	})
	_ = store.Put(ctx, engine.StoredUpload{Fingerprint: "idle", URL: endpoint + "idle", Size: 1, CreatedAt: time.Now().Add(-time.Hour)})
	a := &engine.Client{Endpoint: endpoint, Store: store, ChunkSize: testChunk, FixedChunkSize: true}
	done := make(chan error, 1)
	var res engine.Result
	go func() {
		var err error
		res, err = a.CreateAndUpload(ctx, engine.NewBytesFile("busy.bin", data))
		done <- err
	}()
	<-held
	b := &engine.Client{Endpoint: endpoint, Store: store, StoreMaxAge: time.Nanosecond}
	list, err := b.ListUploads(ctx)
	close(release)
	if err != nil || len(list) != 1 || list[0].Fingerprint == "idle" || list[0].UsedAt.IsZero() {
		t.Fatalf("listed %+v, %v: want the upload in progress kept (and marked used), the idle one pruned", list, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)

	// A parallel upload resumed: its entry is marked used, so its age starts again.
	f := engine.NewBytesFile("parts.bin", randomBytes(16*testChunk, 24))
	p := &engine.Client{Endpoint: endpoint, Store: store, ParallelUploads: 4, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	pauseParallel(t, p, f, 16*testChunk)
	fp, _ := p.Fingerprint(ctx, f)
	e, _, _ := store.Get(ctx, fp)
	e.CreatedAt, e.UsedAt, e.ActiveUntil = time.Now().Add(-6*24*time.Hour), time.Time{}, time.Time{}
	_ = store.Put(ctx, e)
	pauseAt(t, p, f, 12*testChunk)
	if e, _, _ = store.Get(ctx, fp); time.Since(e.UsedAt) > time.Minute {
		t.Fatalf("a resumed parallel upload's entry %+v: not marked used", e)
	}
}

// The lease (ActiveUntil) is meant for "an upload being sent". It outlives the call:
// right after a pause nothing is being sent, yet StoreMaxAge cannot prune the entry for
// the next two minutes; and an entry whose ActiveUntil is far ahead (a clock set back,
// or storage written by anything else: "storage is not trusted input") is never pruned
// by age at all.
func TestStoreLeaseEndsWithTheCall(t *testing.T) {
	_, endpoint := newTusd(t)
	ctx := context.Background()
	store := engine.NewMemoryStore()
	f := engine.NewBytesFile("lease.bin", randomBytes(8*testChunk, 2106))
	c := &engine.Client{Endpoint: endpoint, Store: store, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	pauseAt(t, c, f, 2*testChunk)
	_ = store.Put(ctx, engine.StoredUpload{Fingerprint: "future", URL: endpoint + "x", Size: 1,
		CreatedAt: time.Now().Add(-365 * 24 * time.Hour), ActiveUntil: time.Now().Add(100 * 365 * 24 * time.Hour)})
	strict := &engine.Client{Endpoint: endpoint, Store: store, StoreMaxAge: time.Nanosecond} // listUploads({storageMaxAgeMs: 0})
	list, err := strict.ListUploads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		t.Errorf("kept by StoreMaxAge 1ns although no call sends it: %s (ActiveUntil %v from now)", e.Fingerprint, time.Until(e.ActiveUntil).Round(time.Second))
	}
}

// Tampered stored offered values (huge, negative) neither break a resume nor raise the
// bound past the length: the upload continues byte-exact, and a HEAD past the length
// is still PROTOCOL.
func TestStoreTamperedOfferedKeepsLengthBound(t *testing.T) {
	for _, v := range []int64{-5, 1 << 62, 9007199254740993} {
		t.Run(strconv.FormatInt(v, 10), func(t *testing.T) {
			srv, endpoint := newTusd(t)
			const size = 8 * testChunk
			data := randomBytes(size, 2207)
			f := engine.NewBytesFile("t.bin", data)
			store := engine.NewMemoryStore()
			c := &engine.Client{Endpoint: endpoint, Store: store, Offers: engine.NewOffers(), ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
			pauseAt(t, c, f, 2*testChunk)
			e := storedEntry(t, store)
			e.Offered = v
			if err := store.Put(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			// A later HEAD past the length is refused whatever the entry says.
			var fired atomic.Bool
			heads := tusdtest.Nth("HEAD", 2)
			srv.Inject(tusdtest.Rewrite(func(r *http.Request) bool {
				if heads(r) {
					fired.Store(true)
					return true
				}
				return false
			}, setHeader("Upload-Offset", strconv.Itoa(size+1))))
			srv.Inject(tusdtest.Respond(tusdtest.Nth("PATCH", 4), http.StatusInternalServerError, nil, ""))
			c2 := &engine.Client{Endpoint: endpoint, Store: store, Offers: engine.NewOffers(), ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
			_, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) { return c2.CreateAndUpload(ctx, f) })
			if !fired.Load() || !errors.Is(err, engine.ErrProtocol) {
				t.Fatalf("HEAD past the length after a tampered entry (fired %v): got %v, want ErrProtocol", fired.Load(), err)
			}
			// And without the lie the upload completes from the entry.
			c3 := &engine.Client{Endpoint: endpoint, Store: store, Offers: engine.NewOffers(), ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
			res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) { return c3.CreateAndUpload(ctx, f) })
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
		})
	}
}

func TestStoreMisbehaviour(t *testing.T) {
	for _, mode := range []string{"get error", "garbage", "zero", "other fp", "none"} {
		t.Run(mode, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			data := randomBytes(testChunk+1, 92)
			c := &engine.Client{Endpoint: endpoint, Store: &badStore{mode: mode}, Retry: fastRetry}
			res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewBytesFile("b", data))
			})
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			if err := c.Terminate(context.Background(), engine.UploadURL{URL: res.URL}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.FindPreviousUploads(context.Background(), engine.NewBytesFile("b", data)); mode == "get error" && !errors.Is(err, errStore) {
				t.Fatalf("FindPreviousUploads hid the store error: %v", err)
			}
		})
	}
}

// Two different byte sources with the same name and size (a File without a
// modification time: NewBytesFile, a ReaderAtFile without Modified, in the browser a
// Blob without name and lastModified, which becomes "blob" with mtime zero) share a
// fingerprint. When the first is interrupted, uploading the second "resumes" the
// first's upload: the call reports success while the server holds a splice of both.
func TestFingerprintCollisionSplicesFiles(t *testing.T) {
	srv, endpoint := newTusd(t)
	store := engine.NewMemoryStore()
	a, b := randomBytes(4*testChunk, 96), randomBytes(4*testChunk, 97)
	ctx, cancel := context.WithCancel(context.Background())
	c := &engine.Client{Endpoint: endpoint, Store: store, ChunkSize: testChunk, FixedChunkSize: true}
	ev := engine.Events{OnProgress: func(sent, _ int64) {
		if sent >= 2*testChunk {
			cancel()
		}
	}}
	if _, err := run(ctx, c, engine.NewBytesFile("blob", a), ev); engine.Code(err) != engine.CodeAborted {
		t.Fatalf("got %v", err)
	}
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("blob", b))
	if err != nil {
		t.Fatalf("second file: %v", err)
	}
	got := srv.Stored(t, res.URL)
	if tusdtest.Sum(got) != tusdtest.Sum(b) {
		t.Fatalf("CreateAndUpload(b) succeeded (Resumed=%v) but the server holds %d bytes that are not b (a[:%d]+b[%d:]: %v)",
			res.Resumed, len(got), 2*testChunk, 2*testChunk,
			tusdtest.Sum(got) == tusdtest.Sum(append(append([]byte{}, a[:2*testChunk]...), b[2*testChunk:]...)))
	}
}

// 6. A stored entry the server no longer honours (another length, 403) is dropped and
// a new upload made; a 401 keeps it (a token refresh may make it work again).
func TestStaleStoredEntryReplaced(t *testing.T) {
	srv, endpoint := newTusd(t)
	ctx := context.Background()
	data := randomBytes(2*testChunk, 42)
	store := engine.NewMemoryStore()
	c := &engine.Client{Endpoint: endpoint, Store: store, Retry: fastRetry, ChunkSize: testChunk, FixedChunkSize: true}
	fp, _ := c.Fingerprint(ctx, engine.NewBytesFile("s.bin", data))
	maker := &engine.Client{Endpoint: endpoint} // makes the uploads the stale entries name
	other, err := maker.Create(ctx, engine.NewBytesFile("other", randomBytes(len(data)+1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	refused, err := maker.Create(ctx, engine.NewBytesFile("s.bin", data))
	if err != nil {
		t.Fatal(err)
	}
	refusedPath := strings.TrimPrefix(refused, strings.TrimSuffix(endpoint, "/files/"))
	var status atomic.Int32
	srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method == http.MethodHead && r.URL.Path == refusedPath {
			return reply(w, r, int(status.Load()))
		}
		return false
	})
	for _, tc := range []struct {
		name   string
		url    string
		status int
	}{{"other length", other, 0}, {"403", refused, 403}} {
		status.Store(int32(tc.status))
		_ = store.Put(ctx, engine.StoredUpload{Fingerprint: fp, URL: tc.url, Size: int64(len(data)), CreatedAt: time.Now()})
		res, err := c.CreateAndUpload(ctx, engine.NewBytesFile("s.bin", data))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if res.Resumed || res.URL == tc.url {
			t.Fatalf("%s: resumed the stale entry: %+v", tc.name, res)
		}
		srv.AssertStored(t, res.URL, data)
		if l, _ := store.List(ctx); len(l) != 0 {
			t.Fatalf("%s: store keeps %+v", tc.name, l)
		}
	}
	status.Store(401)
	_ = store.Put(ctx, engine.StoredUpload{Fingerprint: fp, URL: refused, Size: int64(len(data)), CreatedAt: time.Now()})
	var he *engine.HTTPError
	if _, err := c.CreateAndUpload(ctx, engine.NewBytesFile("s.bin", data)); !errors.As(err, &he) || he.Status != 401 {
		t.Fatalf("got %v, want the 401", err)
	}
	if l, _ := store.List(ctx); len(l) != 1 {
		t.Fatalf("a 401 dropped the entry: %+v", l)
	}
}

// 7. When a call has to start over (the stored upload expired during the resume),
// OnUploadURL announces the new upload before progress goes back.
func TestRestartAnnouncedBeforeProgressGoesBack(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(4*testChunk, 43)
	store := engine.NewMemoryStore()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var events []string // "url <u>" or "progress <n>"
	c := &engine.Client{Endpoint: endpoint, Store: store, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	ev := engine.Events{OnUploadURL: func(u string) { mu.Lock(); events = append(events, "url "+u); mu.Unlock() }, OnProgress: func(sent, _ int64) {
		mu.Lock()
		events = append(events, "progress "+strconv.FormatInt(sent, 10))
		mu.Unlock()
		if sent >= 2*testChunk {
			cancel()
		}
	}}
	f := engine.NewBytesFile("r.bin", data)
	if _, err := run(ctx, c, f, ev); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the pause", err)
	}
	mu.Lock()
	events = nil
	mu.Unlock()
	srv.Inject(tusdtest.Respond(tusdtest.Nth("PATCH", 1), http.StatusNotFound, nil, "ERR_UPLOAD_NOT_FOUND"))
	res, err := run(context.Background(), c, f, ev)
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	last, url, announced := int64(-1), "", false
	for _, e := range events {
		kind, v, _ := strings.Cut(e, " ")
		if kind == "url" {
			announced = v != url
			url = v
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		if n < last && !announced {
			t.Fatalf("progress went back without a new upload announced: %v", events)
		}
		last, announced = n, false
	}
	if !strings.HasPrefix(events[0], "url ") || last != int64(len(data)) || url != res.URL {
		t.Fatalf("events %v, result %+v", events, res)
	}
}

// 11. FindPreviousUploads finds what CreateAndUpload stored for an endpoint written in
// a non-canonical form (one fingerprint for every use).
func TestFingerprintUsesCanonicalEndpoint(t *testing.T) {
	_, endpoint := newTusd(t)
	ctx, cancel := context.WithCancel(context.Background())
	store := engine.NewMemoryStore()
	c := &engine.Client{Endpoint: "HTTP" + strings.TrimPrefix(endpoint, "http"), Store: store, ChunkSize: testChunk}
	f := engine.NewBytesFile("c.bin", randomBytes(3*testChunk, 46))
	if _, err := run(ctx, c, f, engine.Events{OnProgress: func(sent, _ int64) {
		if sent > 0 {
			cancel()
		}
	}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the pause", err)
	}
	if prev, err := c.FindPreviousUploads(context.Background(), f); err != nil || len(prev) != 1 {
		t.Fatalf("FindPreviousUploads = %+v, %v; want the stored upload", prev, err)
	}
}

// FingerprintFunc (tus-js-client's fingerprint option) names a file for the Store: a
// file of another name with the same key and content resumes the upload; the same key
// over other content does not; an empty key stores nothing; a function that fails or
// never answers ends the call with ErrHook, bounded by HookTimeout.
func TestFingerprintFunc(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(4*testChunk, 23)
	store := engine.NewMemoryStore()
	key := "user-key"
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Store: store, HookTimeout: 200 * time.Millisecond,
		FingerprintFunc: func(context.Context, engine.File) (string, error) { return key, nil }}
	interrupt := func(f engine.File) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if _, err := run(ctx, c, f, engine.Events{OnProgress: func(sent, _ int64) {
			if sent >= 2*testChunk {
				cancel()
			}
		}}); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	}
	interrupt(engine.NewBytesFile("first.bin", data))
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("renamed.bin", data))
	if err != nil || !res.Resumed || srv.Count(http.MethodPost) != 1 {
		t.Fatalf("same key and content under another name: %+v, %v, %d POSTs; want it resumed", res, err, srv.Count(http.MethodPost))
	}
	srv.AssertStored(t, res.URL, data)

	other := randomBytes(len(data), 24)
	interrupt(engine.NewBytesFile("a.bin", data))
	res, err = c.CreateAndUpload(context.Background(), engine.NewBytesFile("a.bin", other))
	if err != nil || res.Resumed {
		t.Fatalf("same key, other content: %+v, %v; want a new upload", res, err)
	}
	srv.AssertStored(t, res.URL, other)

	key = ""
	interrupt(engine.NewBytesFile("b.bin", data))
	if l, _ := store.List(context.Background()); len(l) != 1 { // a.bin's interrupted entry only
		t.Fatalf("an empty key stored an entry: %+v", l)
	}

	for name, fn := range map[string]func(context.Context, engine.File) (string, error){
		"fails":     func(context.Context, engine.File) (string, error) { return "", errors.New("no key") },
		"no answer": func(ctx context.Context, _ engine.File) (string, error) { <-ctx.Done(); return "", ctx.Err() },
	} {
		c.FingerprintFunc = fn
		posts := srv.Count(http.MethodPost)
		_, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
			return c.CreateAndUpload(ctx, engine.NewBytesFile("c.bin", data))
		})
		if !errors.Is(err, engine.ErrHook) || srv.Count(http.MethodPost) != posts {
			t.Errorf("FingerprintFunc %s: %v, want ErrHook before any request", name, err)
		}
	}
}

// A small file sent whole with its creation costs the Store nothing (no lookup, entry,
// prune or FingerprintFunc); a larger one is looked up and stored, and prunes the Store
// only when a PruneScheduler says it is due.
func TestStoreCostPerUpload(t *testing.T) {
	srv, endpoint := newTusd(t)
	ctx := context.Background()
	store := &countingStore{MemoryStore: engine.NewMemoryStore()}
	keys := 0
	c := &engine.Client{Endpoint: endpoint, Store: store, FingerprintFunc: func(context.Context, engine.File) (string, error) {
		keys++
		return "k", nil
	}}
	small := randomBytes(1000, 31)
	res, err := c.CreateAndUpload(ctx, engine.NewBytesFile("small.bin", small))
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, small)
	if got := store.calls(); got != "" || keys != 0 {
		t.Fatalf("Store calls %q, %d keys asked for a small file; want none", got, keys)
	}
	c.ChunkSize, c.FixedChunkSize = 400, true
	for _, due := range []bool{false, true} {
		store.due = due
		res, err = c.CreateAndUpload(ctx, engine.NewBytesFile("chunked.bin", small))
		if err != nil {
			t.Fatal(err)
		}
		srv.AssertStored(t, res.URL, small)
		want := "Get Put Put Put Delete" // the lookup, the entry at creation and per chunk, its removal
		if due {
			want = "List " + want
		}
		if got := store.calls(); got != want {
			t.Fatalf("pruning due %v: Store calls %q; want %q", due, got, want)
		}
	}
}

// countingStore records the Store calls an upload makes and says pruning is due when
// due is set.
type countingStore struct {
	*engine.MemoryStore
	mu  sync.Mutex
	log []string
	due bool
}

func (s *countingStore) note(m string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, m)
}

func (s *countingStore) calls() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := strings.Join(s.log, " ")
	s.log = nil
	return out
}

func (s *countingStore) PruneDue(time.Time, time.Duration) bool { return s.due }
func (s *countingStore) Get(ctx context.Context, fp string) (engine.StoredUpload, bool, error) {
	s.note("Get")
	return s.MemoryStore.Get(ctx, fp)
}
func (s *countingStore) Put(ctx context.Context, u engine.StoredUpload) error {
	s.note("Put")
	return s.MemoryStore.Put(ctx, u)
}
func (s *countingStore) Delete(ctx context.Context, fp string) error {
	s.note("Delete")
	return s.MemoryStore.Delete(ctx, fp)
}
func (s *countingStore) List(ctx context.Context) ([]engine.StoredUpload, error) {
	s.note("List")
	return s.MemoryStore.List(ctx)
}
