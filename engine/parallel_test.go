package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// Parallel uploads against tusd's concatenation extension: 2, 4 and 8 parts, sizes
// around the part count and a large one, byte-exact, progress monotonic.
func TestParallelUploads(t *testing.T) {
	for _, n := range []int{2, 4, 8} {
		for _, size := range []int64{1, int64(n) - 1, int64(n), int64(n) + 1, 64<<20 + 1} {
			t.Run(fmt.Sprintf("%d parts %d bytes", n, size), func(t *testing.T) {
				srv, endpoint := newTusd(t)
				f := patternFile{size: size}
				var progress progressLog
				c := &engine.Client{Endpoint: endpoint, ParallelUploads: n, Metadata: map[string]string{"filename": "p.bin"}}
				res, err := withDeadline(t, 60*time.Second, func(ctx context.Context) (engine.Result, error) {
					return run(ctx, c, f, engine.Events{OnProgress: progress.record})
				})
				if err != nil {
					t.Fatal(err)
				}
				if got, sum := srv.StoredSum(t, res.URL); got != size || sum != f.sum() {
					t.Fatalf("stored %d bytes, want %d byte-exact", got, size)
				}
				if want := int(min(int64(n), size)); res.Parts != want && !(want == 1 && res.Parts == 1) {
					t.Fatalf("%d parts, want %d", res.Parts, want)
				}
				progress.check(t, size)
				if res.Parts > 1 {
					if posts := srv.Count(http.MethodPost); posts != res.Parts+1 {
						t.Fatalf("%d POSTs for %d parts and the final", posts, res.Parts)
					}
					md := headMetadata(t, res.URL)
					if md["filename"] != "p.bin" {
						t.Fatalf("the final upload's metadata %v", md)
					}
				}
			})
		}
	}
}

func headMetadata(t *testing.T, url string) map[string]string {
	t.Helper()
	resp, err := headStatus(t, url)
	if err != nil {
		t.Fatal(err)
	}
	md, err := engine.DecodeMetadata(resp.Header.Get("Upload-Metadata"))
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// A part's connection reset mid-PATCH, and a part that answers 404 (re-created alone),
// leave the others alone; the file ends byte-exact.
func TestParallelPartFaults(t *testing.T) {
	const size = 8 * testChunk
	data := randomBytes(size, 60)
	for name, fault := range map[string]func(srv *tusdtest.Server) tusdtest.Fault{
		"reset": func(*tusdtest.Server) tusdtest.Fault { return tusdtest.Truncate(tusdtest.Nth("PATCH", 3), 1000, true) },
		"404": func(*tusdtest.Server) tusdtest.Fault {
			return tusdtest.Respond(tusdtest.Nth("PATCH", 2), http.StatusNotFound, nil, "ERR_UPLOAD_NOT_FOUND")
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			srv.Inject(fault(srv))
			c := &engine.Client{Endpoint: endpoint, ParallelUploads: 4, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
			res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewBytesFile("f", data))
			})
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			if res.Parts != 4 {
				t.Fatalf("%d parts", res.Parts)
			}
			t.Logf("%d bytes sent for %d", srv.BodyBytes.Load(), size)
		})
	}
}

// A pause ("reload") with some parts done and some half-done: the next call re-sends
// only what each part had not confirmed.
func TestParallelResumePartByPart(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 16 * testChunk
	data := randomBytes(size, 61)
	store := engine.NewMemoryStore()
	// The first part to send its second chunk gets stuck there until the pause; the
	// others finish.
	var held atomic.Bool
	srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method != http.MethodPatch || tusdtest.Offset(r) != testChunk || held.Swap(true) {
			return false
		}
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client leave
		<-r.Context().Done()
		return true
	})
	ctx, cancel := context.WithCancel(context.Background())
	var sent atomic.Int64
	c := &engine.Client{Endpoint: endpoint, Store: store, ParallelUploads: 4, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	f := engine.NewBytesFile("p.bin", data)
	done := make(chan error, 1)
	go func() {
		_, err := run(ctx, c, f, engine.Events{OnProgress: func(s, _ int64) { sent.Store(s) }})
		done <- err
	}()
	waitUntil(t, "three parts done and one stuck", func() bool { return sent.Load() >= 3*size/4+testChunk })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the pause", err)
	}
	prev, _ := c.FindPreviousUploads(context.Background(), f)
	if len(prev) != 1 || len(prev[0].Parts) != 4 || prev[0].URL != "" {
		t.Fatalf("stored %+v, want the four part URLs", prev)
	}
	before := srv.BodyBytes.Load()
	res, err := c.CreateAndUpload(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	if resent := srv.BodyBytes.Load() - before; resent > size/4 {
		t.Fatalf("the resumed call sent %d bytes; the stuck part had %d left", resent, size/4-testChunk)
	}
	if !res.Resumed {
		t.Fatal("not marked resumed")
	}
	if l, _ := store.List(context.Background()); len(l) != 0 {
		t.Fatalf("store keeps %+v after completion", l)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// A server without concatenation gets one upload (a fallback, no error); streams are
// refused; boundaries are checked.
func TestParallelFallbacksAndOptions(t *testing.T) {
	srv := tusdtest.New(t, "", tusdtest.Options{DisableConcatenation: true})
	endpoint := srv.Start(t)
	data := randomBytes(4*testChunk, 62)
	c := &engine.Client{Endpoint: endpoint, ParallelUploads: 4}
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("f", data))
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	if res.Parts != 1 || srv.Count(http.MethodPost) != 1 {
		t.Fatalf("%+v, %d POSTs: want one plain upload", res, srv.Count(http.MethodPost))
	}
	if _, err := c.CreateAndUpload(context.Background(), engine.NewReaderStream("s", strings.NewReader("abc"))); !errors.Is(err, engine.ErrInvalidOption) {
		t.Fatalf("a stream in parts: got %v, want ErrInvalidOption", err)
	}
	_, endpoint2 := newTusd(t)
	c = &engine.Client{Endpoint: endpoint2, ParallelBoundaries: []engine.Part{{Start: 0, End: 10}, {Start: 11, End: int64(len(data))}}}
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("f", data)); !errors.Is(err, engine.ErrInvalidOption) {
		t.Fatalf("a gap in the boundaries: got %v, want ErrInvalidOption", err)
	}
	c.ParallelBoundaries = []engine.Part{{Start: 0, End: 10}, {Start: 10, End: int64(len(data))}}
	res, err = c.CreateAndUpload(context.Background(), engine.NewBytesFile("f", data))
	if err != nil || res.Parts != 2 {
		t.Fatalf("%+v, %v", res, err)
	}
}

// Terminate on a final upload deletes its parts too (tusd keeps them); a new Upload's
// Terminate deletes an unfinished parallel upload's parts.
func TestParallelTerminate(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(4*testChunk, 63)
	c := &engine.Client{Endpoint: endpoint, ParallelUploads: 3}
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("f", data))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := headStatus(t, res.URL)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Fields(strings.TrimPrefix(resp.Header.Get("Upload-Concat"), "final;"))
	if len(parts) != 3 {
		t.Fatalf("final upload's Upload-Concat %q", resp.Header.Get("Upload-Concat"))
	}
	if err := c.Terminate(context.Background(), engine.UploadURL{URL: res.URL}); err != nil {
		t.Fatal(err)
	}
	for _, u := range append(parts, res.URL) {
		if resp, err := headStatus(t, u); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s still answers %v after Terminate", u, resp.Status)
		}
	}

	// Unfinished: the parts exist, the entry names them.
	store := engine.NewMemoryStore()
	srv.Inject(tusdtest.Respond(func(r *http.Request) bool { return strings.HasPrefix(r.Header.Get("Upload-Concat"), "final;") },
		http.StatusInternalServerError, nil, ""))
	c = &engine.Client{Endpoint: endpoint, ParallelUploads: 3, Store: store, Retry: engine.Retry{MaxRetries: -1}}
	f := engine.NewBytesFile("g", data)
	if _, err := c.CreateAndUpload(context.Background(), f); err == nil {
		t.Fatal("the final POST was refused, yet the upload succeeded")
	}
	prev, _ := c.FindPreviousUploads(context.Background(), f)
	if len(prev) != 1 || len(prev[0].Parts) != 3 {
		t.Fatalf("stored %+v", prev)
	}
	if err := terminateFile(c, f); err != nil {
		t.Fatal(err)
	}
	for _, p := range prev[0].Parts {
		if resp, err := headStatus(t, p.URL); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("part %s still answers %v", p.URL, resp.Status)
		}
	}
	if l, _ := store.List(context.Background()); len(l) != 0 {
		t.Fatalf("store keeps %+v", l)
	}
}

// pauseParallel uploads f in 4 parts with c until every part exists and half the file
// is confirmed, then pauses, leaving the part URLs in c's Store; it returns them.
func pauseParallel(t *testing.T, c *engine.Client, f engine.File, size int64) []engine.Part {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fp, err := c.Fingerprint(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	ev := engine.Events{OnProgress: func(sent, _ int64) {
		e, _, _ := c.Store.Get(ctx, fp)
		created := 0
		for _, p := range e.Parts {
			if p.URL != "" {
				created++
			}
		}
		if sent >= size/2 && created == 4 {
			cancel()
		}
	}}
	if _, err := run(ctx, c, f, ev); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the pause", err)
	}
	prev, err := c.FindPreviousUploads(context.Background(), f)
	if err != nil || len(prev) != 1 || len(prev[0].Parts) != 4 {
		t.Fatalf("stored %+v, %v: want the four parts", prev, err)
	}
	for _, p := range prev[0].Parts {
		if p.URL == "" {
			t.Fatalf("stored %+v: a part without its URL", prev[0])
		}
	}
	return prev[0].Parts
}

// A stored part the server no longer honours (403, another length, 404) is made anew
// and re-sent alone, as a whole upload's stored entry would be; the file ends
// byte-exact instead of every later call failing until the entry is pruned.
func TestParallelStoredPartRefused(t *testing.T) {
	const size = 16 * testChunk
	for _, tc := range []struct {
		name  string
		reply func(w http.ResponseWriter, r *http.Request) bool
	}{
		{"403", func(w http.ResponseWriter, r *http.Request) bool { return reply(w, r, http.StatusForbidden) }},
		{"other length", func(w http.ResponseWriter, r *http.Request) bool {
			return reply(w, r, http.StatusOK, "Upload-Offset", "0", "Upload-Length", strconv.Itoa(size))
		}},
		{"404", func(w http.ResponseWriter, r *http.Request) bool { return reply(w, r, http.StatusNotFound) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			data := randomBytes(size, 64)
			f := engine.NewBytesFile("refused.bin", data)
			c := &engine.Client{Endpoint: endpoint, Store: engine.NewMemoryStore(), ParallelUploads: 4, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
			parts := pauseParallel(t, c, f, size)
			refused := parts[2].URL[strings.Index(parts[2].URL, "/files/"):]
			srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
				return r.URL.Path == refused && tc.reply(w, r)
			})
			posts := srv.Count(http.MethodPost)
			res, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) { return c.CreateAndUpload(ctx, f) })
			if err != nil {
				t.Fatalf("a stored part answering %s: %v", tc.name, err)
			}
			srv.AssertStored(t, res.URL, data)
			if n := srv.Count(http.MethodPost) - posts; n != 2 {
				t.Fatalf("%d POSTs after the resume, want the re-created part and the final", n)
			}
		})
	}
}

// A part gone when the parts are joined (tusd: 404 to the final POST) is re-created
// and re-sent alone, then the parts are joined; one final upload.
func TestParallelPartGoneAtJoin(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 8 * testChunk
	data := randomBytes(size, 65)
	var deleted atomic.Bool
	srv.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		list, final := strings.CutPrefix(r.Header.Get("Upload-Concat"), "final;")
		if !final || deleted.Swap(true) {
			return false
		}
		gone := strings.Fields(list)[1] // the second part expires just before the join
		del := httptest.NewRequest(http.MethodDelete, gone[strings.Index(gone, "/files/"):], nil)
		del.Header.Set("Tus-Resumable", "1.0.0")
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, del)
		if rec.Code != http.StatusNoContent {
			t.Errorf("deleting the part: %d", rec.Code)
		}
		return false // tusd answers the join: 404
	})
	c := &engine.Client{Endpoint: endpoint, ParallelUploads: 4, Retry: fastRetry}
	res, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("gone.bin", data))
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	finals := 0
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost && r.Status == http.StatusCreated {
			finals++
		}
	}
	if !deleted.Load() || finals != 4+1+1 {
		t.Fatalf("%d uploads created, want 4 parts, the re-created one and one final", finals)
	}
}

// A join slower than the request timeout: the final POST's deadline fits the work
// (the server copies the file), so it is not cut and sent again, which made a final
// upload per attempt.
func TestParallelSlowJoin(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(4*testChunk, 66)
	srv.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if strings.HasPrefix(r.Header.Get("Upload-Concat"), "final;") {
			time.Sleep(700 * time.Millisecond) // the server's copying, as the client waits for it
		}
		return false
	})
	c := &engine.Client{Endpoint: endpoint, ParallelUploads: 2, RequestTimeout: 400 * time.Millisecond, Retry: fastRetry}
	res, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("slow.bin", data))
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	if n := srv.Count(http.MethodPost); n != 3 {
		t.Fatalf("%d POSTs, want 2 parts and one final", n)
	}
}

// One cap for the part count, whichever way it is given; Terminate deletes every part
// it can and names those it could not.
func TestParallelPartCapAndTerminate(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(4*testChunk, 67)
	f := engine.NewBytesFile("cap.bin", data)
	many := make([]engine.Part, engine.MaxParallelParts+1)
	for i := range many {
		many[i] = engine.Part{Start: int64(i), End: int64(i + 1)}
	}
	many[len(many)-1].End = int64(len(data))
	for _, c := range []*engine.Client{
		{Endpoint: endpoint, ParallelUploads: engine.MaxParallelParts + 1},
		{Endpoint: endpoint, ParallelBoundaries: many},
	} {
		if _, err := c.CreateAndUpload(context.Background(), f); !errors.Is(err, engine.ErrInvalidOption) {
			t.Fatalf("%d parts: got %v, want ErrInvalidOption", max(c.ParallelUploads, len(c.ParallelBoundaries)), err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("%d requests for refused options", n)
	}
	c := &engine.Client{Endpoint: endpoint, ParallelBoundaries: many[:engine.MaxParallelParts], Retry: fastRetry}
	c.ParallelBoundaries[len(c.ParallelBoundaries)-1].End = int64(len(data))
	res, err := c.CreateAndUpload(context.Background(), f)
	if err != nil || res.Parts != engine.MaxParallelParts {
		t.Fatalf("%d parts: %+v, %v", engine.MaxParallelParts, res, err)
	}
	srv.AssertStored(t, res.URL, data)
	resp, _ := headStatus(t, res.URL)
	parts := strings.Fields(strings.TrimPrefix(resp.Header.Get("Upload-Concat"), "final;"))
	stuck := parts[5][strings.Index(parts[5], "/files/"):]
	srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		return r.Method == http.MethodDelete && r.URL.Path == stuck && reply(w, r, http.StatusForbidden)
	})
	err = c.Terminate(context.Background(), engine.UploadURL{URL: res.URL})
	if err == nil || !strings.Contains(err.Error(), stuck) || engine.Code(err) != "HTTP" {
		t.Fatalf("Terminate with a part it cannot delete: %v (%s), want it named", err, engine.Code(err))
	}
	for _, u := range append(parts, res.URL) {
		want := http.StatusNotFound
		if strings.HasSuffix(u, stuck) {
			want = http.StatusOK
		}
		if resp, err := headStatus(t, u); err != nil || resp.StatusCode != want {
			t.Fatalf("%s answers %v after Terminate, want %d", u, resp.Status, want)
		}
	}
}

// The final POST answers 404 for ever (a server that refuses every join): the call
// rejoins once after re-checking the parts, then ends with the 404; it never loops.
func TestParallelJoinRefusedForever(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 8 * testChunk
	data := randomBytes(size, 2103)
	var finals atomic.Int32
	srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if strings.HasPrefix(r.Header.Get("Upload-Concat"), "final;") {
			finals.Add(1)
			return reply(w, r, http.StatusNotFound)
		}
		return false
	})
	c := &engine.Client{Endpoint: endpoint, ParallelUploads: 4, Retry: fastRetry}
	_, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("final404.bin", data))
	})
	var he *engine.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusNotFound {
		t.Fatalf("got %v, want the final POST's 404", err)
	}
	if n := finals.Load(); n != 2 {
		t.Fatalf("%d final POSTs, want 2 (the join and one rejoin)", n)
	}
	if n := srv.Count(http.MethodPost) - int(finals.Load()); n != 4 {
		t.Fatalf("%d parts created, want 4 (none re-created: they are all there)", n)
	}
}

// A stored part answering 401 (a token expired) is not dishonoured: it must NOT be
// re-created (a token refresh lets it continue); the call ends with the 401.
func TestParallelStoredPart401Kept(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 16 * testChunk
	data := randomBytes(size, 2104)
	f := engine.NewBytesFile("p401.bin", data)
	c := &engine.Client{Endpoint: endpoint, Store: engine.NewMemoryStore(), ParallelUploads: 4, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	parts := pauseParallel(t, c, f, size)
	refused := parts[1].URL[strings.Index(parts[1].URL, "/files/"):]
	var on atomic.Bool
	on.Store(true)
	srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		return on.Load() && r.URL.Path == refused && reply(w, r, http.StatusUnauthorized)
	})
	posts := srv.Count(http.MethodPost)
	_, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) { return c.CreateAndUpload(ctx, f) })
	var he *engine.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Fatalf("got %v, want the part's 401", err)
	}
	if n := srv.Count(http.MethodPost) - posts; n != 0 {
		t.Fatalf("%d POSTs after a part's 401, want none (no part re-created)", n)
	}
	// The token is refreshed: the same parts continue, byte-exact.
	on.Store(false)
	res, err := withDeadline(t, 30*time.Second, func(ctx context.Context) (engine.Result, error) { return c.CreateAndUpload(ctx, f) })
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	if n := srv.Count(http.MethodPost) - posts; n != 1 {
		t.Fatalf("%d POSTs after the refresh, want only the final", n)
	}
}

// abort({terminate: true}) of an unfinished parallel upload (Upload.Terminate): per the
// README "a part it cannot delete does not stop the others, and the error names those
// left". One part's DELETE is refused (403): the other parts must still be deleted.
func TestParallelTerminateStoredGoesOn(t *testing.T) {
	srv, endpoint := newTusd(t)
	const size = 16 * testChunk
	data := randomBytes(size, 2105)
	f := engine.NewBytesFile("tstored.bin", data)
	c := &engine.Client{Endpoint: endpoint, Store: engine.NewMemoryStore(), ParallelUploads: 4, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
	parts := pauseParallel(t, c, f, size)
	stuck := parts[0].URL[strings.Index(parts[0].URL, "/files/"):]
	srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		return r.Method == http.MethodDelete && r.URL.Path == stuck && reply(w, r, http.StatusForbidden)
	})
	err := terminateFile(c, f)
	if err == nil || !strings.Contains(err.Error(), stuck) {
		t.Errorf("Terminate with a part it cannot delete: %v, want an error naming it", err)
	}
	for _, p := range parts[1:] {
		if resp, err := headStatus(t, p.URL); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("part %s answers %v after Terminate, want 404 (deleted although another part was refused)", p.URL, resp.Status)
		}
	}
}

// Terminate of a final upload asks (HEAD) for its parts first. That HEAD is sent once,
// unretried: one 503 on it and Terminate deletes the final upload, reports success,
// and leaves every part on the server, named nowhere.
func TestParallelTerminateFindsPartsFirst(t *testing.T) {
	srv, endpoint := newTusd(t)
	data := randomBytes(8*testChunk, 2107)
	c := &engine.Client{Endpoint: endpoint, ParallelUploads: 4, Retry: fastRetry}
	res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("t503.bin", data))
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	resp, _ := headStatus(t, res.URL)
	parts := strings.Fields(strings.TrimPrefix(resp.Header.Get("Upload-Concat"), "final;"))
	if len(parts) != 4 {
		t.Fatalf("final upload lists parts %q", parts)
	}
	srv.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodHead, 1), http.StatusServiceUnavailable, nil, ""))
	err = c.Terminate(context.Background(), engine.UploadURL{URL: res.URL})
	left := 0
	for _, p := range parts {
		if resp, err := headStatus(t, p); err == nil && resp.StatusCode == http.StatusOK {
			left++
		}
	}
	if left > 0 && err == nil {
		t.Fatalf("Terminate reported success and left %d of 4 parts on the server (its HEAD got one 503)", left)
	}
}

// terminateFile deletes what c's Store keeps for f, as a new Upload's Terminate does
// (abort({terminate: true}) before the Upload knew a URL).
func terminateFile(c *engine.Client, f engine.File) error {
	u, err := c.NewUpload(f, engine.UploadURL{}, engine.Events{})
	if err != nil {
		return err
	}
	return u.Terminate(context.Background())
}
