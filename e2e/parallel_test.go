package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// Parallel uploads in Chromium: 2, 4 and 8 parts for sizes around the part count and
// a 64 MiB + 1 B file picked from disk, byte-exact, progress monotonic to the size.
func TestParallelInBrowser(t *testing.T) {
	e := newEnv(t)
	const big = 64<<20 + 1
	path := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(path, pattern(big, 160), 0o644); err != nil {
		t.Fatal(err)
	}
	setFiles(t, e.tab, "#file", path)
	for _, n := range []int{2, 4, 8} {
		for _, size := range []int{1, n - 1, n, n + 1, big} {
			file := fmt.Sprintf(`makeFile(%d, %d)`, size, 161+n)
			want := pattern(size, uint32(161+n))
			if size == big {
				file, want = `document.querySelector('#file').files[0]`, pattern(big, 160)
			}
			o := eval[outcome](e, fmt.Sprintf(`run(async () => {
				let last = -1, monotonic = true
				const r = await tus.createAndUpload(%s, {endpoint: '/files/', parallelUploads: %d, storage: false,
					onProgress: (sent, total) => { monotonic &&= sent > last && total === %d; last = sent }})
				return {...r, monotonic, last}
			})`, file, n, size))
			r := o.result(t)
			e.tusd.AssertStored(t, r.URL, want)
			var got struct {
				Monotonic bool
				Last      int
				Parts     int
			}
			mustJSON(t, o.Value, &got)
			if !got.Monotonic || got.Last != size || got.Parts != min(n, size) && !(size < 2 && got.Parts == 1) {
				t.Fatalf("%d parts, %d bytes: %+v", n, size, got)
			}
		}
	}
}

// A part's connection reset and a part that answers 404 (re-created alone); a server
// whose OPTIONS lacks concatenation gets one upload.
func TestParallelFaultsInBrowser(t *testing.T) {
	e := newEnv(t)
	const size = 12 * chunk
	e.tusd.Inject(tusdtest.Truncate(tusdtest.Nth(http.MethodPatch, 3), 1000, true))
	e.tusd.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPatch, 5), http.StatusNotFound, nil, "ERR_UPLOAD_NOT_FOUND"))
	o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 170), {endpoint: '/files/', parallelUploads: 4,
		chunkSize: %d, adaptiveChunkSize: false, storage: false, retry: {initialDelayMs: 10}}))`, size, chunk))
	r := o.result(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 170))
	if posts := e.tusd.Count(http.MethodPost); posts != 6 {
		t.Fatalf("%d POSTs: want 4 parts, 1 re-created after its 404, and the final", posts)
	}

	e2 := newEnv(t)
	e2.tusd.Inject(tusdtest.Rewrite(func(r *http.Request) bool { return r.Method == http.MethodOptions }, func(_ *int, h http.Header) {
		h.Set("Tus-Extension", "creation,creation-with-upload,termination")
	}))
	o = eval[outcome](e2, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 171), {endpoint: '/files/', parallelUploads: 4, storage: false}))`, size))
	r = o.result(t)
	e2.tusd.AssertStored(t, r.URL, pattern(size, 171))
	var got struct{ Parts int }
	mustJSON(t, o.Value, &got)
	if got.Parts != 1 || e2.tusd.Count(http.MethodPost) != 1 {
		t.Fatalf("without concatenation: %d parts, %d POSTs; want one upload", got.Parts, e2.tusd.Count(http.MethodPost))
	}
}

// A reload with some parts done and one half-done: the new page re-sends only the
// missing bytes of that part (counted at the server). Then the Upload class with
// abort({terminate: true}) mid-way, and terminate() of a final upload, leave no part.
func TestParallelReloadAndTerminate(t *testing.T) {
	e := newEnv(t)
	const size = 16 * chunk
	// The first part's second PATCH hangs until the reload; the others finish.
	var once sync.Once
	stuck := make(chan struct{})
	e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method != http.MethodPatch || tusdtest.Offset(r) != chunk {
			return false
		}
		hold := false
		once.Do(func() { hold = true; close(stuck) })
		if !hold {
			return false
		}
		// Read the body first: net/http notices a client going away (the reload) only
		// once it has, and the connection would stay taken otherwise.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done() // until the reload abandons it
		return true
	})
	upload := fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 172, 'par.bin'), {endpoint: '/files/', parallelUploads: 4, chunkSize: %d, adaptiveChunkSize: false})`, size, chunk)
	startIn(e, e.tab, `bg('p', () => `+upload+`)`)
	waitChan(t, "the stuck part", stuck)
	t.Log("one part is stuck")
	waitFor(t, "the other parts to finish", 30e9, func() bool {
		entry := eval[string](e, `Object.values(localStorage).find(v => v.includes('"parts"')) ?? ''`)
		return strings.Count(entry, `"url":"http`) == 4 && e.tusd.BodyBytes.Load() >= 3*size/4+chunk
	})
	t.Log("the other parts are done; reloading")
	e.reload(e.tab)
	t.Log("reloaded")
	before := e.tusd.BodyBytes.Load()
	r := eval[outcome](e, `run(() => `+upload+`)`).result(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 172))
	if resent := e.tusd.BodyBytes.Load() - before; resent > size/4 {
		t.Fatalf("after the reload %d bytes were sent; the stuck part had %d left", resent, size/4-chunk)
	}
	if !r.Resumed {
		t.Fatal("the reloaded page did not resume the parts")
	}
	t.Log("resumed after the reload")

	// Upload class: abort({terminate: true}) while the parts run deletes them.
	h := holdNth(t, e.tusd, http.MethodPatch, 3, true)
	startIn(e, e.tab, fmt.Sprintf(`bg('t', () => {
		window.up = new tus.Upload(makeFile(%d, 173, 't.bin'), {endpoint: '/files/', parallelUploads: 4, chunkSize: %d, adaptiveChunkSize: false})
		up.start()
		return up.done
	})`, size, chunk))
	waitChan(t, "a part's PATCH", h.arrived)
	parts := eval[[]string](e, `(async () => (await tus.listUploads()).flatMap(u => (u.parts ?? []).map(p => p.url)).filter(Boolean))()`)
	eval[any](e, `up.abort({terminate: true})`)
	if o := e.waitDone("t"); o.Name != "AbortError" {
		t.Fatalf("done settled with %+v", o)
	}
	if len(parts) == 0 {
		t.Fatal("no part URLs were stored")
	}
	for _, u := range parts {
		if resp, err := http.DefaultClient.Do(headReq(t, u)); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("part %s answers %v after abort({terminate: true})", u, resp.Status)
		}
	}
	if n := eval[int](e, `tus.listUploads().then(l => l.length)`); n != 0 {
		t.Fatalf("%d stored entries after abort({terminate: true})", n)
	}

	// terminate(final URL) deletes the parts tusd keeps.
	resp, err := http.DefaultClient.Do(headReq(t, r.URL))
	if err != nil {
		t.Fatal(err)
	}
	finalParts := strings.Fields(strings.TrimPrefix(resp.Header.Get("Upload-Concat"), "final;"))
	eval[any](e, fmt.Sprintf(`tus.terminate(%q)`, r.URL))
	for _, u := range append(finalParts, r.URL) {
		if resp, err := http.DefaultClient.Do(headReq(t, u)); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s answers %v after terminate()", u, resp.Status)
		}
	}
	if len(finalParts) != 4 {
		t.Fatalf("the final upload listed %v", finalParts)
	}
}

// At most 64 parts, whichever way they are asked for: INVALID_OPTION before any request.
func TestParallelPartCapInBrowser(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		o := within(e, `(async () => {
			const f = makeFile(1000, 2130)
			const b = Array.from({length: 65}, (_, i) => ({start: i * 10, end: i === 64 ? 1000 : (i + 1) * 10}))
			const out = []
			for (const opts of [{parallelUploadBoundaries: b}, {parallelUploads: 65}, {parallelUploads: 1e9}]) {
				out.push(await tus.createAndUpload(f, {endpoint: '/files/', storage: false, ...opts})
					.then(() => 'resolved', (e) => (e?.code ?? e?.name) + ': ' + e?.message))
			}
			const ok = await tus.createAndUpload(f, {endpoint: '/files/', storage: false, parallelUploadBoundaries: b.slice(0, 63).concat([{start: 630, end: 1000}])})
			return {out, ok}
		})()`, 60000)
		if o.Hang || !o.OK {
			t.Fatalf("part caps: %+v", o)
		}
		var got struct {
			Out []string `json:"out"`
			OK  result   `json:"ok"`
		}
		mustJSON(t, o.Value, &got)
		for i, g := range got.Out {
			if len(g) < 14 || g[:14] != "INVALID_OPTION" {
				t.Errorf("case %d: %s, want INVALID_OPTION", i, g)
			}
		}
		t.Logf("messages: %q", got.Out)
		if n := e.tusd.Count(http.MethodPost) + e.tusd.Count(http.MethodOptions); n != 64+1+1 {
			t.Errorf("%d POSTs and OPTIONS, want only the 64-part upload's (64 parts, one final, one OPTIONS)", n)
		}
		e.tusd.AssertStored(t, got.OK.URL, pattern(1000, 2130))
	})
}
