package engine_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// A server that stores an aborted PATCH's body late (as @tus/server does): after a
// pause, the next call's first HEAD shows the old offset, its first PATCH gets 409, and
// the HEAD after shows the late bytes, past everything the new call sent itself. Those
// bytes were offered by this process, or by an earlier page as its Store entry says:
// the call continues, byte-exact. A HEAD past every byte ever offered is still a lie;
// so are late bytes no record names (a new page, storage off): PROTOCOL, not a guess.
func TestLateBytesFromAnAbortedPatch(t *testing.T) {
	const size = 16 * testChunk
	data := randomBytes(size, 70)
	for _, tc := range []struct {
		name    string
		offers  func(first *engine.Offers) *engine.Offers
		lie     int64 // > 0: later HEADs claim this offset
		noStore bool  // storage off: the pause is resumed with an upload URL
		want    error
	}{
		{"same process", func(o *engine.Offers) *engine.Offers { return o }, 0, false, nil},
		{"same process, storage off", func(o *engine.Offers) *engine.Offers { return o }, 0, true, nil},
		{"after a reload (the Store's record)", func(*engine.Offers) *engine.Offers { return engine.NewOffers() }, 0, false, nil},
		{"past every byte offered", func(o *engine.Offers) *engine.Offers { return o }, 9 * testChunk, false, engine.ErrProtocol},
		{"a new page, storage off", func(*engine.Offers) *engine.Offers { return engine.NewOffers() }, 0, true, engine.ErrProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			store, offers := engine.Store(engine.NewMemoryStore()), engine.NewOffers()
			if tc.noStore {
				store = nil
			}
			// The second PATCH (bytes 4-8 chunks) is held; the call is paused once 3
			// chunks of it arrived.
			late, fault := tusdtest.NewLate(func(r *http.Request) bool { return tusdtest.Offset(r) == 4*testChunk }, 3*testChunk)
			srv.Inject(fault)
			f := engine.NewBytesFile("late.bin", data)
			var uploadURL string
			first := &engine.Client{Endpoint: endpoint, Store: store, Offers: offers, ChunkSize: 4 * testChunk, FixedChunkSize: true, Retry: fastRetry}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := run(ctx, first, f, engine.Events{OnUploadURL: func(u string) { uploadURL = u }})
				done <- err
			}()
			select {
			case <-late.Reached:
			case <-time.After(20 * time.Second):
				t.Fatal("the second PATCH never arrived")
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("first call: %v, want the pause", err)
			}
			select {
			case <-late.Held:
			case <-time.After(20 * time.Second):
				t.Fatal("the server never saw the client leave")
			}
			if tc.lie > 0 { // every HEAD after the one Late answers
				srv.Inject(tusdtest.Rewrite(method("HEAD"), setHeader("Upload-Offset", strconv.FormatInt(tc.lie, 10))))
			}
			// The second call sends smaller chunks than the late bytes.
			second := &engine.Client{Endpoint: endpoint, Store: store, Offers: tc.offers(offers), ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
			res, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) {
				if tc.noStore {
					return second.Upload(ctx, f, engine.UploadURL{URL: uploadURL, FromServer: true})
				}
				return second.CreateAndUpload(ctx, f)
			})
			select {
			case <-late.Stored:
			default:
				t.Fatalf("the late bytes were never stored (the call: %v): the test did not test anything", err)
			}
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			if !res.Resumed && !tc.noStore || srv.Count(http.MethodPost) != 1 {
				t.Fatalf("resumed %v after %d POSTs, want the same upload continued", res.Resumed, srv.Count(http.MethodPost))
			}
		})
	}
}

// Two tabs (two processes, two Offers) take turns on one stored upload, as
// localStorage lets them: tab A sends part of it and pauses, tab B resumes it from
// storage and sends more, then tab A resumes again. The server's offset is past what
// tab A ever offered, but every byte of it is the file's own (tab B sent it): the
// upload must continue, not end as PROTOCOL (and keep ending so in tab A).
func TestLateBytesAnotherTabSentMore(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 16 * testChunk
	data := randomBytes(size, 2101)
	f := engine.NewBytesFile("tabs.bin", data)
	store := engine.NewMemoryStore() // localStorage, shared by the tabs
	tabA := &engine.Client{Endpoint: endpoint, Store: store, Offers: engine.NewOffers(), ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	tabB := &engine.Client{Endpoint: endpoint, Store: store, Offers: engine.NewOffers(), ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	pauseAt(t, tabA, f, 3*testChunk)
	pauseAt(t, tabB, f, 10*testChunk)
	var errs []error
	for range 2 { // the first resume in tab A, and the one a user tries after it failed
		res, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) { return tabA.CreateAndUpload(ctx, f) })
		if err == nil {
			srv.AssertStored(t, res.URL, data)
			if !res.Resumed || srv.Count(http.MethodPost) != 1 {
				t.Fatalf("resumed %v after %d POSTs, want the stored upload continued", res.Resumed, srv.Count(http.MethodPost))
			}
			break
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		t.Fatalf("tab A resuming after tab B sent more failed %d of 2 times: %v (%s), want the upload continued", len(errs), errs, engine.Code(errs[0]))
	}
}

// Before issue 21, a HEAD after a failed PATCH could claim no more than the call's
// baseline plus what it sent since (TestHeadPastBytesSentIsProtocol). After a reload
// (no Offers record: a fresh process) that bound is gone for the whole call, not just
// the baseline HEAD: a server that lies on a later HEAD (offset = length) ends the call
// with a false success, the file stored short.
func TestLieAfterReloadIsProtocol(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 16 * testChunk
	data := randomBytes(size, 2102)
	f := engine.NewBytesFile("reload.bin", data)
	store := engine.NewMemoryStore()
	before := &engine.Client{Endpoint: endpoint, Store: store, Offers: engine.NewOffers(), ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	pauseAt(t, before, f, 4*testChunk)
	// The reloaded page: a fresh Offers. Its baseline HEAD is honest; its second PATCH
	// fails, and every HEAD after that claims the whole file.
	patches := srv.Count(http.MethodPatch)
	var lying atomic.Bool
	srv.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method == http.MethodPatch && srv.Count(http.MethodPatch) == patches+1 {
			lying.Store(true)
			return reply(w, r, http.StatusInternalServerError)
		}
		return false
	})
	srv.Inject(tusdtest.Rewrite(func(r *http.Request) bool { return r.Method == http.MethodHead && lying.Load() },
		setHeader("Upload-Offset", strconv.Itoa(size))))
	after := &engine.Client{Endpoint: endpoint, Store: store, Offers: engine.NewOffers(), ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	res, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) { return after.CreateAndUpload(ctx, f) })
	if !lying.Load() {
		t.Fatal("the PATCH fault never fired: the test tested nothing")
	}
	if err == nil {
		n, _ := srv.StoredSum(t, res.URL)
		t.Fatalf("a HEAD past every byte this call sent ended the call as a success (%d of %d bytes stored), want ErrProtocol", n, size)
	}
	if !errors.Is(err, engine.ErrProtocol) {
		t.Fatalf("got %v, want ErrProtocol", err)
	}
}

// deleteOnServer removes an upload behind the client's back (expired, cleaned up).
func deleteOnServer(t *testing.T, u string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, u, nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE %s: %d", u, resp.StatusCode)
	}
}

// storedEntry returns the single entry of a MemoryStore.
func storedEntry(t *testing.T, s engine.Store) engine.StoredUpload {
	t.Helper()
	list, err := s.List(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("store holds %d entries (%v), want 1", len(list), err)
	}
	return list[0]
}

// A stored entry whose upload is gone is replaced by a new upload, which starts with
// no offered record of its own: the old upload had been offered every byte (a pause
// during its last PATCH); were that carried over, after a reload a later HEAD claiming
// the whole file would pass the bound and end the call as a false success.
func TestLateBytesNewUploadStartsWithoutOffer(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 16 * testChunk
	data := randomBytes(size, 2201)
	f := engine.NewBytesFile("carry.bin", data)
	store := engine.NewMemoryStore()

	// Page 1: paused while its last PATCH is on the wire: every byte offered.
	tap, fault := tusdtest.NewTap(func(r *http.Request) bool {
		return r.Method == http.MethodPatch && tusdtest.Offset(r) == size-testChunk
	}, 1, true)
	srv.Inject(fault)
	page1 := &engine.Client{Endpoint: endpoint, Store: store, Offers: engine.NewOffers(), ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := page1.CreateAndUpload(ctx, f); done <- err }()
	select {
	case <-tap.Reached:
	case <-time.After(20 * time.Second):
		t.Fatal("the last PATCH never arrived")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("page 1: %v, want the pause", err)
	}
	tap.Release() // the abandoned PATCH ends and lets go of tusd's lock
	old := storedEntry(t, store)
	if old.Offered != size {
		t.Fatalf("page 1's entry says %d offered, want %d (the setup did not reach the last PATCH)", old.Offered, size)
	}
	// The upload is removed on the server (expired, cleaned up).
	deleteOnServer(t, old.URL)

	// Page 2 finds the entry dishonoured (404), creates a new upload, pauses early.
	page2 := &engine.Client{Endpoint: endpoint, Store: store, Offers: engine.NewOffers(), ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	pauseAt(t, page2, f, 3*testChunk)
	cur := storedEntry(t, store)
	if cur.URL == old.URL {
		t.Fatal("page 2 did not create a new upload")
	}
	if srv.Count(http.MethodPost) != 2 {
		t.Fatalf("%d POSTs, want 2", srv.Count(http.MethodPost))
	}
	bad := cur.Offered > 5*testChunk
	if bad {
		t.Errorf("the new upload's entry says %d bytes offered; page 2 offered at most %d to it (the old upload's record was carried over)", cur.Offered, 5*testChunk)
	}

	// Page 3 (a reload: fresh Offers): honest baseline HEAD, its second PATCH fails,
	// every later HEAD claims the whole file.
	patches := srv.Count(http.MethodPatch)
	var lying atomic.Bool
	srv.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method == http.MethodPatch && srv.Count(http.MethodPatch) == patches+1 {
			lying.Store(true)
			return reply(w, r, http.StatusInternalServerError)
		}
		return false
	})
	srv.Inject(tusdtest.Rewrite(func(r *http.Request) bool { return r.Method == http.MethodHead && lying.Load() },
		setHeader("Upload-Offset", strconv.Itoa(size))))
	page3 := &engine.Client{Endpoint: endpoint, Store: store, Offers: engine.NewOffers(), ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	res, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) { return page3.CreateAndUpload(ctx, f) })
	if !lying.Load() {
		t.Fatal("the PATCH fault never fired: the test tested nothing")
	}
	if err == nil {
		n, _ := srv.StoredSum(t, res.URL)
		t.Fatalf("a HEAD past every byte offered to this upload ended the call as a success (%d of %d bytes stored), want ErrProtocol", n, size)
	}
	if !errors.Is(err, engine.ErrProtocol) {
		t.Fatalf("got %v, want ErrProtocol", err)
	}
}

// A parallel upload's parts resumed from Store keep their offered records: after a
// reload, a part's late bytes (the Late stand-in in front of tusd, which has
// concatenation) are the file's own, as for a single upload
// (TestLateBytesFromAnAbortedPatch, "after a reload").
func TestLateBytesParallelPartAfterReload(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 16 * testChunk
	data := randomBytes(size, 2202)
	f := engine.NewBytesFile("parts.bin", data)
	store := engine.NewMemoryStore()
	// A part's second request (a PATCH of bytes 4-8 chunks of the part) is held; the
	// call is paused once 3 chunks of it arrived.
	late, fault := tusdtest.NewLate(func(r *http.Request) bool { return tusdtest.Offset(r) == 4*testChunk }, 3*testChunk)
	srv.Inject(fault)
	page1 := &engine.Client{Endpoint: endpoint, Store: store, Offers: engine.NewOffers(), ParallelUploads: 2,
		ChunkSize: 4 * testChunk, FixedChunkSize: true, Retry: fastRetry}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := page1.CreateAndUpload(ctx, f); done <- err }()
	select {
	case <-late.Reached:
	case <-time.After(20 * time.Second):
		t.Fatal("the held PATCH never arrived")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("page 1: %v, want the pause", err)
	}
	select {
	case <-late.Held:
	case <-time.After(20 * time.Second):
		t.Fatal("the server never saw the client leave")
	}
	e := storedEntry(t, store)
	if len(e.Parts) != 2 {
		t.Fatalf("entry %+v, want 2 parts", e)
	}
	t.Logf("page 1's entry: parts %+v", e.Parts)
	// Page 2 (a reload: fresh Offers) resumes with smaller chunks than the late bytes.
	page2 := &engine.Client{Endpoint: endpoint, Store: store, Offers: engine.NewOffers(), ParallelUploads: 2,
		ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	res, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) { return page2.CreateAndUpload(ctx, f) })
	select {
	case <-late.Stored:
	default:
		t.Fatalf("the late bytes were never stored (the call: %v): the test did not test anything", err)
	}
	if err != nil {
		again, err2 := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) { return page2.CreateAndUpload(ctx, f) })
		if err2 == nil {
			srv.AssertStored(t, again.URL, data)
		}
		t.Fatalf("resuming the parts after a reload: %v (%s), want the upload continued as a single upload does (a second call: %v)", err, engine.Code(err), err2)
	}
	srv.AssertStored(t, res.URL, data)
}

// 5. After a failed PATCH, a HEAD that claims more than was ever sent is a lie, not a
// success.
func TestHeadPastBytesSentIsProtocol(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 4 * testChunk
	srv.Inject(tusdtest.Respond(tusdtest.Nth("PATCH", 2), 500, nil, ""))
	srv.Inject(tusdtest.Rewrite(method("HEAD"), setHeader("Upload-Offset", strconv.Itoa(size))))
	err := endsPromptly(t, srv, endpoint, size)
	if !errors.Is(err, engine.ErrProtocol) {
		t.Fatalf("got %v, want ErrProtocol", err)
	}
}
