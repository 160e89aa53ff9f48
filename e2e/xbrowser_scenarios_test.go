package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// smokeScenario is one step of the cross-browser smoke. Each is a short version of a
// Chromium test elsewhere in this package, chosen to touch every browser API tuswasm
// leans on: fetch with Blob bodies and AbortSignal, localStorage, IndexedDB, module
// workers, ReadableStream, SubtleCrypto (fingerprints), wasm itself.
type smokeScenario struct {
	name string
	run  func(s *smoke)
	// skip names the engines the scenario cannot run in, with the reason (an API the
	// engine lacks); the summary lists them.
	skip map[string]string
}

var smokeScenarios = []smokeScenario{
	{name: "metadata", run: smokeMetadata},
	{name: "empty", run: smokeEmpty},
	{name: "pause-resume", run: smokePauseResume},
	{name: "reload-resume", run: smokeReloadResume},
	{name: "reset-mid-patch", run: smokeReset},
	{name: "expired", run: smokeExpired},
	{name: "hostile-offset", run: smokeHostileOffset},
	{name: "worker", run: smokeWorker},
	{name: "stream", run: smokeStream},
	{name: "worker-stream", run: smokeWorkerStream, skip: map[string]string{
		"webkit": "WebKitGTK 2.50 cannot transfer a ReadableStream to a worker (postMessage: DataCloneError)"}},
	{name: "indexeddb", run: smokeIndexedDB},
	{name: "parallel", run: smokeParallel},
	{name: "uppy", run: smokeUppy},
	{name: "file-grows", run: smokeFileGrows},
	{name: "file-grows-ua-shim", run: smokeFileGrowsUAShim},
	{name: "file-rewritten", run: smokeFileRewritten},
	{name: "file-rewritten-between-chunks", run: smokeFileRewrittenBetweenChunks},
}

// A file with metadata in chunks: progress per chunk, metadata byte-exact on tusd.
func smokeMetadata(s *smoke) {
	const size = 5*chunk + 7
	o, r := s.upload(fmt.Sprintf(`(async () => {
		const progress = []
		const r = await tus.createAndUpload(makeFile(%d, 201, 'naïve name.bin'), {endpoint: '/files/', chunkSize: %d,
			metadata: {filename: 'naïve name.bin', filetype: 'application/octet-stream'},
			onProgress: (sent, total) => progress.push([sent, total])})
		return {...r, progress}
	})()`, size, chunk))
	s.tusd.AssertStored(s.t, r.URL, pattern(size, 201))
	var got struct{ Progress [][2]int64 }
	mustJSON(s.t, o.Value, &got)
	last := int64(-1)
	for _, p := range got.Progress {
		if p[1] != size || p[0] <= last {
			s.t.Fatalf("progress not monotonic: %v", got.Progress)
		}
		last = p[0]
	}
	if last != size || len(got.Progress) < 6 {
		s.t.Fatalf("progress %v: want a call per chunk, ending at %d", got.Progress, size)
	}
	resp, err := http.DefaultClient.Do(headReq(s.t, r.URL))
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	md, err := engine.DecodeMetadata(resp.Header.Get("Upload-Metadata"))
	if err != nil || md["filename"] != "naïve name.bin" || md["filetype"] != "application/octet-stream" {
		s.t.Fatalf("server metadata %v, %v", md, err)
	}
}

func smokeEmpty(s *smoke) {
	_, r := s.upload(`tus.createAndUpload(makeFile(0, 202), {endpoint: '/files/'})`)
	if r.Size != 0 {
		s.t.Fatalf("result %+v", r)
	}
	s.tusd.AssertStored(s.t, r.URL, nil)
}

// Pause through an AbortSignal mid-PATCH, then resume from localStorage: no new
// creation, at most the interrupted chunk sent twice.
func smokePauseResume(s *smoke) {
	const size = 6 * chunk
	upload := fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 203, 'p.bin'), {endpoint: '/files/', chunkSize: %d, signal: window.ctl?.signal})`, size, chunk)
	s.pauseAtSecondPatch(upload)
	if n := s.storedEntries("tuswasm::"); n != 1 {
		s.t.Fatalf("%d entries in localStorage after the pause, want 1", n)
	}
	s.start(`window.ctl = null`)
	_, r := s.upload(upload)
	s.assertResumed(r, size, 203)
}

// pauseAtSecondPatch runs upload in the background and aborts window.ctl while the
// second PATCH is in flight (its body read by the server), until it settles.
func (s *smoke) pauseAtSecondPatch(upload string) {
	s.t.Helper()
	h := holdNth(s.t, s.tusd, http.MethodPatch, 2, true)
	s.start(`bg('paused', () => { window.ctl = new AbortController(); return ` + upload + ` })`)
	waitChan(s.t, "the second PATCH", h.arrived)
	s.start(`ctl.abort()`)
	waitChan(s.t, "the fetch to be aborted", h.aborted)
	if o := s.waitDone("paused"); o.OK || o.Name != "AbortError" {
		s.t.Fatalf("paused upload settled with %+v, want AbortError", o)
	}
}

func (s *smoke) assertResumed(r result, size int, seed uint32) {
	s.t.Helper()
	if !r.Resumed || s.tusd.Count(http.MethodPost) != 1 {
		s.t.Fatalf("not resumed: %+v, %d POSTs", r, s.tusd.Count(http.MethodPost))
	}
	s.tusd.AssertStored(s.t, r.URL, pattern(size, seed))
	if extra := s.tusd.BodyBytes.Load() - int64(size); extra > chunk {
		s.t.Fatalf("%d bytes sent twice, more than the interrupted chunk", extra)
	}
}

// A reload mid-PATCH; the new page resumes from localStorage.
func smokeReloadResume(s *smoke) {
	const size = 8 * chunk
	h := holdNth(s.t, s.tusd, http.MethodPatch, 3, true)
	upload := fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 204, 'r.bin'), {endpoint: '/files/', chunkSize: %d})`, size, chunk)
	s.start(`bg('r', () => ` + upload + `)`)
	waitChan(s.t, "the third PATCH", h.arrived)
	s.reload()
	waitChan(s.t, "the reload to abort the PATCH", h.aborted)
	if n := s.storedEntries("tuswasm::"); n != 1 {
		s.t.Fatalf("%d entries in localStorage after the reload, want 1", n)
	}
	_, r := s.upload(upload)
	s.assertResumed(r, size, 204)
	if n := s.storedEntries("tuswasm::"); n != 0 {
		s.t.Fatalf("localStorage keeps %d entries after success", n)
	}
}

// The connection drops in the middle of a PATCH body (the fault proxy hangs up).
func smokeReset(s *smoke) {
	s.tusd.Inject(tusdtest.Truncate(tusdtest.Nth(http.MethodPatch, 2), 1000, true))
	const size = 4*chunk + 1
	_, r := s.upload(fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 205), {endpoint: '/files/', chunkSize: %d, retry: {initialDelayMs: 10, maxDelayMs: 50}})`, size, chunk))
	s.tusd.AssertStored(s.t, r.URL, pattern(size, 205))
	if n := s.tusd.Count(http.MethodPatch); n < 5 {
		s.t.Fatalf("%d PATCHes: the reset was not retried", n)
	}
}

// A terminated upload is EXPIRED (404); onExpired: 'recreate' starts a new one.
func smokeExpired(s *smoke) {
	const size = 2*chunk + 3
	_, r := s.upload(`(` + expiredThenRecreateJS(size, 206) + `)()`)
	s.tusd.AssertStored(s.t, r.URL, pattern(size, 206))
}

// Offsets a hostile server sends (from the shared table) end as PROTOCOL within the
// retry budget (byCase tells the cases apart).
func smokeHostileOffset(s *smoke) {
	want := map[string]bool{"offset backwards": true, "offset past length": true}
	n := 0
	for _, tc := range tusdtest.HostileCases(byCase) {
		if !want[tc.Name] {
			continue
		}
		n++
		s.tusd.Inject(tc.Fault)
		o := smokeEval[outcome](s, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 207), {endpoint: '/files/', chunkSize: %d,
			headers: {'X-Case': %q}, storage: false, retry: {maxRetries: 2, initialDelayMs: 50, maxDelayMs: 200}}))`, 3*chunk, chunk, tc.Name))
		if o.OK || o.Name != "TusError" || o.Code != tc.Code {
			s.t.Errorf("%s: got %+v, want TusError %s", tc.Name, o, tc.Code)
		}
	}
	if n != len(want) {
		s.t.Fatalf("found %d of the %d hostile cases", n, len(want))
	}
}

// Worker mode (init({worker: true})): the upload runs in a module worker, callbacks
// and errors cross back to the page.
func smokeWorker(s *smoke) {
	s.open("/smoke.html?worker")
	if !smokeEval[bool](s, `tusWorker`) {
		s.t.Fatal("the page did not start tuswasm in worker mode")
	}
	const size = 5*chunk + 7
	o, r := s.upload(fmt.Sprintf(`(async () => {
		const progress = []
		const r = await tus.createAndUpload(makeFile(%d, 208, 'w.bin'), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false,
			onProgress: (sent) => progress.push(sent)})
		return {...r, progress}
	})()`, size, chunk))
	s.tusd.AssertStored(s.t, r.URL, pattern(size, 208))
	var got struct{ Progress []int64 }
	mustJSON(s.t, o.Value, &got)
	if len(got.Progress) < 5 || got.Progress[len(got.Progress)-1] != size {
		s.t.Fatalf("progress from the worker: %v", got.Progress)
	}
	if e := smokeEval[outcome](s, `run(() => tus.upload(makeFile(1, 1), {uploadUrl: '/files/nope'}))`); e.Code != "EXPIRED" || e.Status != 404 {
		s.t.Fatalf("an error from the worker: %+v", e)
	}
}

// A ReadableStream of unknown length (Upload-Defer-Length), collected chunk by chunk
// into Blobs: no engine here streams a request body over HTTP/1.1.
func smokeStream(s *smoke) {
	const size = 5*chunk + 3
	o, r := s.upload(fmt.Sprintf(`(async () => {
		const totals = []
		const r = await tus.createAndUpload(%s, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false,
			onProgress: (sent, total) => totals.push(total)})
		return {...r, totals}
	})()`, streamJS(size, 209), chunk))
	s.tusd.AssertStored(s.t, r.URL, pattern(size, 209))
	var got struct{ Totals []*int64 }
	mustJSON(s.t, o.Value, &got)
	if n := len(got.Totals); n < 2 || got.Totals[0] != nil || got.Totals[n-1] == nil || *got.Totals[n-1] != size {
		s.t.Fatalf("progress totals %v, want null until the length is known", got.Totals)
	}
}

// Worker mode with a ReadableStream: the stream is transferred to the worker on its
// first use, paused and resumed there through the Upload class.
func smokeWorkerStream(s *smoke) {
	s.open("/smoke.html?worker")
	const size = 6*chunk + 11
	h := holdNth(s.t, s.tusd, http.MethodPatch, 2, true)
	s.start(fmt.Sprintf(`bg('s', () => {
		window.up = new tus.Upload(%s, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false})
		up.start()
		return up.done
	})`, streamJS(size, 212), chunk))
	waitChan(s.t, "the stream's second PATCH", h.arrived)
	s.start(`up.pause()`)
	waitChan(s.t, "the pause", h.aborted)
	s.start(`up.resume()`)
	o := s.waitDone("s")
	s.tusd.AssertStored(s.t, o.result(s.t).URL, pattern(size, 212))
	if n := s.tusd.Count(http.MethodPost); n != 1 {
		s.t.Fatalf("%d POSTs: the resume created a new upload", n)
	}
}

// storage: 'indexeddb' on the page: paused, reloaded, resumed from IndexedDB.
func smokeIndexedDB(s *smoke) {
	const size = 6 * chunk
	upload := fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 210, 'i.bin'), {endpoint: '/files/', chunkSize: %d, storage: 'indexeddb', signal: window.ctl?.signal})`, size, chunk)
	s.pauseAtSecondPatch(upload)
	if n := s.storedEntries("tuswasm::"); n != 0 {
		s.t.Fatalf("%d entries in localStorage with storage: 'indexeddb'", n)
	}
	s.reload()
	if n := smokeEval[int](s, `tus.listUploads({storage: 'indexeddb'}).then(l => l.length)`); n != 1 {
		s.t.Fatalf("%d uploads in IndexedDB after the reload, want 1", n)
	}
	_, r := s.upload(upload)
	s.assertResumed(r, size, 210)
	if n := smokeEval[int](s, `tus.listUploads({storage: 'indexeddb'}).then(l => l.length)`); n != 0 {
		s.t.Fatalf("IndexedDB keeps %d uploads after success", n)
	}
}

// Four partial uploads at once, joined by a final upload (concatenation).
func smokeParallel(s *smoke) {
	const size = 12*chunk + 5
	o, r := s.upload(fmt.Sprintf(`(async () => {
		let last = -1, monotonic = true
		const r = await tus.createAndUpload(makeFile(%d, 211), {endpoint: '/files/', parallelUploads: 4, chunkSize: %d,
			adaptiveChunkSize: false, storage: false, onProgress: (sent, total) => { monotonic &&= sent > last && total === %d; last = sent }})
		return {...r, monotonic, last}
	})()`, size, chunk, size))
	s.tusd.AssertStored(s.t, r.URL, pattern(size, 211))
	var got struct {
		Monotonic bool
		Last      int
		Parts     int
	}
	mustJSON(s.t, o.Value, &got)
	if !got.Monotonic || got.Last != size || got.Parts != 4 || s.tusd.Count(http.MethodPost) != 5 {
		s.t.Fatalf("parallel: %+v, %d POSTs; want 4 parts and a final upload", got, s.tusd.Count(http.MethodPost))
	}
}

// Uppy (the Vite app's Uppy page, on its own origin): two files paused all mid-PATCH and
// resumed all, each created once and stored byte-exact.
func smokeUppy(s *smoke) {
	_, s.tusd, s.origin = serveTusd(s.t, viteHandler(s.t))
	s.open(fmt.Sprintf("/uppy.html?chunk=%d", chunk))
	sizes := []int{3*chunk + 1, 2 * chunk}
	h := holdNth(s.t, s.tusd, http.MethodPatch, 2, true)
	s.start(fmt.Sprintf(`[%d, %d].forEach((n, i) => uppy.addFile({name: 'u' + i + '.bin', type: 'application/octet-stream',
		data: new File([pattern(n, 340 + i)], 'u' + i + '.bin')})), uppy.upload()`, sizes[0], sizes[1]))
	waitChan(s.t, "the second PATCH", h.arrived)
	s.start(`uppy.pauseAll()`)
	waitChan(s.t, "pause-all to abort the PATCH", h.aborted)
	s.start(`uppy.resumeAll()`)
	urls := smokeEval[map[string]string](s, `waitFor(() => {
		const ok = events.filter((ev) => ev[0] === 'upload-success')
		if (events.some((ev) => ev[0] === 'upload-error')) throw new Error(JSON.stringify(events.filter((ev) => ev[0] === 'upload-error')))
		return ok.length === 2 && Object.fromEntries(ok.map((ev) => [ev[1], ev[2]]))
	})`)
	for i, n := range sizes {
		s.tusd.AssertStored(s.t, urls[fmt.Sprintf("u%d.bin", i)], pattern(n, uint32(340+i)))
	}
	if n := s.tusd.Count(http.MethodPost); n != len(sizes) {
		s.t.Fatalf("%d POSTs for %d files", n, len(sizes))
	}
}

// A picked file that grows on disk before its upload, which goes in one request: the
// server must get the bytes the File had when picked (or the upload FILE_CHANGED),
// never more than its size. Firefox reads a whole File to the file's new end, past
// the Content-Length, so its extra bytes (here, a request's text) reached the server
// as a request of their own (an outside audit found it); a slice is bounded.
func smokeFileGrows(s *smoke) { fileGrows(s, 205, "tus") }

// The same, and a file rewritten in place, on a page that defines
// navigator.userAgentData before tuswasm starts, as Firefox's webcompat interventions
// (bug 1898952) and UA-CH polyfills do (here a NavigatorUAData class and a bound getter,
// which prints as native code): the shim must not pass for Chromium's own. Outside
// audits had the grown file's bytes reach the server (Firefox) and the rewritten file's
// upload hang (WebKit) with shims.
func smokeFileGrowsUAShim(s *smoke) {
	smokeEval[any](s, `(async () => {
		if (typeof NavigatorUAData !== 'function') {
			window.NavigatorUAData = class NavigatorUAData {}
			const data = Object.assign(new NavigatorUAData(), {brands: [{brand: 'Chromium', version: '1'}], mobile: false, platform: 'Linux'})
			Object.defineProperty(Navigator.prototype, 'userAgentData', {configurable: true, get: function () { return data }.bind(null)})
		}
		window.shimmed = await import('/js/index.js?shim') // a module instance started after the shim
		await shimmed.init()
		return null
	})()`)
	fileGrows(s, 206, "shimmed")
	fileRewritten(s, 215, "shimmed")
}

// fileGrows uploads a picked file that grew on disk with module (the page's name for
// a tuswasm module instance).
func fileGrows(s *smoke, seed uint32, module string) {
	const size = 1000
	path := filepath.Join(s.t.TempDir(), "grows.zzz9") // no known type: the draft's creation too would show it
	if err := writeFile(path, pattern(size, seed)); err != nil {
		s.t.Fatal(err)
	}
	s.pick("grows", path, size)
	var smuggled atomic.Bool
	s.tusd.Inject(func(_ http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		smuggled.Store(smuggled.Load() || strings.Contains(r.URL.Path, "smuggled"))
		return false
	})
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString("GET /files/smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		f.Close()
	}
	if err != nil {
		s.t.Fatal(err)
	}
	o := smokeEval[outcome](s, `run(() => `+module+`.createAndUpload(window.grows, {endpoint: '/files/', storage: false, retry: {maxRetries: 0}}))`)
	if o.OK {
		s.tusd.AssertStored(s.t, o.result(s.t).URL, pattern(size, seed))
	} else if o.Code != "FILE_CHANGED" {
		s.t.Fatalf("upload of a file that grew: %+v, want success or FILE_CHANGED", o)
	}
	// The server reads bytes past the body as the connection's next request at once;
	// an absence can only be watched for a while.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && !smuggled.Load() {
		time.Sleep(20 * time.Millisecond)
	}
	if smuggled.Load() {
		s.t.Fatal("the server got a request made of the bytes the file gained after it was picked")
	}
}

// A picked file rewritten on disk before its upload: the same size, other bytes, a
// newer mtime. The upload must settle soon, as FILE_CHANGED or with the bytes of one
// version. WebKitGTK sends the headers of a request whose Blob body changed and then
// never its bytes, and an outside audit saw the upload pending for over 120 s.
func smokeFileRewritten(s *smoke) { fileRewritten(s, 213, "tus") }

// fileRewritten uploads with module (the page's name for a tuswasm module instance) a
// picked file rewritten before its upload.
func fileRewritten(s *smoke, seed uint32, module string) {
	const size = 1000
	path := filepath.Join(s.t.TempDir(), "rewritten.zzz9")
	if err := writeFile(path, pattern(size, seed)); err != nil {
		s.t.Fatal(err)
	}
	s.pick("rewritten", path, size)
	if err := writeFile(path, pattern(size, seed+1)); err != nil {
		s.t.Fatal(err)
	}
	later := time.Now().Add(2 * time.Second) // newer than the pick, whatever the mtime's grain
	if err := os.Chtimes(path, later, later); err != nil {
		s.t.Fatal(err)
	}
	// Well under the request's own deadline (30 s), which would otherwise end it.
	o := smokeEval[settled](s, `within(`+module+`.createAndUpload(window.rewritten, {endpoint: '/files/', storage: false, retry: {maxRetries: 0}}), 10000)`)
	switch {
	case o.OK:
		got := s.tusd.Stored(s.t, o.result(s.t).URL)
		switch {
		case bytes.Equal(got, pattern(size, seed)):
			s.t.Logf("%s: uploaded the bytes the file had when picked", s.engine)
		case bytes.Equal(got, pattern(size, seed+1)):
			s.t.Logf("%s: uploaded the bytes the file was rewritten with", s.engine)
		default:
			s.t.Fatalf("the server holds %d bytes that are neither version of the file", len(got))
		}
	case !o.Hang && o.Code == "FILE_CHANGED":
		s.t.Logf("%s: %s", s.engine, o.Message) // which way each engine goes
	default:
		s.t.Fatalf("upload of a file rewritten on disk: %+v, want FILE_CHANGED or one version's bytes", o)
	}
}

// A picked file of four chunks rewritten on disk (same size, other bytes, newer mtime)
// while its first chunk's request is at the server: the upload must end FILE_CHANGED or
// with one version's bytes, never a mix. Firefox reads the new bytes without an error,
// and an outside audit saw the upload succeed with chunks "old new new new".
func smokeFileRewrittenBetweenChunks(s *smoke) {
	const piece = 64 << 10
	const size = 4 * piece
	const oldSeed, newSeed = 5201, 5202
	path := filepath.Join(s.t.TempDir(), "between.zzz9")
	if err := writeFile(path, pattern(size, oldSeed)); err != nil {
		s.t.Fatal(err)
	}
	s.pick("between", path, size)
	arrived, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	s.tusd.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.ContentLength <= 0 || !first.CompareAndSwap(false, true) {
			return false
		}
		body, _ := io.ReadAll(r.Body) // the first chunk's bytes, as the browser sent them
		close(arrived)
		<-release
		r.Body = io.NopCloser(bytes.NewReader(body))
		return false // tusd takes it from here
	})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()
	s.start(fmt.Sprintf(`bg('between', () => tus.createAndUpload(window.between, {endpoint: '/files/', storage: false, chunkSize: %d, adaptiveChunkSize: false, retry: {maxRetries: 0}}))`, piece))
	waitChan(s.t, "the first chunk at the server", arrived)
	if err := writeFile(path, pattern(size, newSeed)); err != nil {
		s.t.Fatal(err)
	}
	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		s.t.Fatal(err)
	}
	free()
	got := smokeEval[settled](s, `within(new Promise((resolve) => {
		const tick = () => state.between.done ? resolve(state.between.outcome) : setTimeout(tick, 20)
		tick()
	}).then((o) => o.ok ? o.value : Promise.reject(Object.assign(new Error(o.message), {code: o.code}))), 20000)`)
	switch {
	case got.OK:
		stored := s.tusd.Stored(s.t, got.result(s.t).URL)
		if !bytes.Equal(stored, pattern(size, oldSeed)) && !bytes.Equal(stored, pattern(size, newSeed)) {
			s.t.Fatalf("%s: the upload succeeded with %d bytes that are neither version of the file", s.engine, len(stored))
		}
	case !got.Hang && got.Code == "FILE_CHANGED":
		s.t.Logf("%s: %s", s.engine, got.Message)
	default:
		s.t.Fatalf("upload of a file rewritten between chunks: %+v, want FILE_CHANGED or one version's bytes", got)
	}
}

// pick picks the file at path, of size bytes, in a new file input of the page, as
// window[name].
func (s *smoke) pick(name, path string, size int) {
	s.t.Helper()
	s.start(`document.body.insertAdjacentHTML('beforeend', '<input type=file id=` + name + `>')`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.page.SetFiles(ctx, "#"+name, []string{path}); err != nil {
		s.t.Fatalf("picking the file: %v", err)
	}
	if n := smokeEval[int](s, `(window.`+name+` = document.querySelector('#`+name+`').files[0]).size`); n != size {
		s.t.Fatalf("picked %d bytes, want %d", n, size)
	}
}
