package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// hold stops the nth matching request at the server. With consume, it first reads the
// whole body (the request is then truly in flight) and answers only when the client
// gives up; without, it waits for release and then lets tusd handle the request.
type hold struct {
	arrived, aborted, release chan struct{}
	once                      sync.Once
}

func holdNth(t *testing.T, srv *tusdtest.Server, method string, n int, consume bool) *hold {
	h := &hold{arrived: make(chan struct{}), aborted: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(h.Release)
	match := tusdtest.Nth(method, n)
	srv.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !match(r) {
			return false
		}
		close(h.arrived)
		if consume {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		select {
		case <-r.Context().Done():
			close(h.aborted)
			return true
		case <-h.release:
		}
		if consume {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false // tusd takes it from here
	})
	return h
}

func (h *hold) Release() { h.once.Do(func() { close(h.release) }) }

func waitChan(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func (e *env) waitDone(key string) outcome {
	e.t.Helper()
	return evalIn[outcome](e, e.tab, bgDoneJS(key))
}

// bgDoneJS waits in the page for the background job key (test.js's bg) to settle, and
// is its outcome.
func bgDoneJS(key string) string {
	return fmt.Sprintf(`new Promise((resolve, reject) => {
		const t0 = Date.now()
		const tick = () => state[%[1]q].done ? resolve(state[%[1]q].outcome) :
			Date.now() - t0 > 150000 ? reject(new Error('background upload %[1]s never finished')) : setTimeout(tick, 10)
		tick()
	})`, key)
}

// Pausing through an AbortSignal aborts the in-flight fetch; the next call resumes
// from storage without a new creation and re-sends at most the interrupted chunk.
func TestPauseWithSignalThenResume(t *testing.T) {
	e := newEnv(t)
	const size = 6 * chunk
	h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
	startIn(e, e.tab, fmt.Sprintf(`bg('p', () => {
		window.ctl = new AbortController()
		return tus.createAndUpload(makeFile(%d, 5, 'p.bin'), {endpoint: '/files/', chunkSize: %d, signal: ctl.signal})
	})`, size, chunk))
	waitChan(t, "the second PATCH", h.arrived)
	eval[any](e, `ctl.abort()`)
	waitChan(t, "the fetch to be aborted", h.aborted)
	if o := e.waitDone("p"); o.OK || o.Name != "AbortError" {
		t.Fatalf("paused upload settled with %+v, want AbortError", o)
	}
	if n := eval[int](e, `tus.listUploads().then(l => l.length)`); n != 1 {
		t.Fatalf("%d uploads in storage after pausing, want 1", n)
	}
	o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 5, 'p.bin'), {endpoint: '/files/', chunkSize: %d}))`, size, chunk))
	r := o.result(t)
	if !r.Resumed || e.tusd.Count(http.MethodPost) != 1 {
		t.Fatalf("not resumed: %+v, %d POSTs", r, e.tusd.Count(http.MethodPost))
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 5))
	if extra := e.tusd.BodyBytes.Load() - size; extra > chunk {
		t.Fatalf("%d bytes re-sent, more than the interrupted chunk", extra)
	}
	if n := eval[int](e, `tus.listUploads().then(l => l.length)`); n != 0 {
		t.Fatalf("%d uploads left in storage after success", n)
	}
}

// The page reloads in the middle of an upload; the new page resumes it from
// localStorage.
func TestReloadThenResumeFromLocalStorage(t *testing.T) {
	e := newEnv(t)
	const size = 8 * chunk
	h := holdNth(t, e.tusd, http.MethodPatch, 3, true)
	startIn(e, e.tab, fmt.Sprintf(`bg('r', () => tus.createAndUpload(makeFile(%d, 6, 'r.bin'), {endpoint: '/files/', chunkSize: %d}))`, size, chunk))
	waitChan(t, "the third PATCH", h.arrived)
	e.reload(e.tab)
	waitChan(t, "the reload to abort the PATCH", h.aborted)
	if n := eval[int](e, `Object.keys(localStorage).filter(k => k.startsWith('tuswasm::')).length`); n != 1 {
		t.Fatalf("%d tuswasm entries in localStorage after reload, want 1", n)
	}
	o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 6, 'r.bin'), {endpoint: '/files/', chunkSize: %d}))`, size, chunk))
	r := o.result(t)
	if !r.Resumed || e.tusd.Count(http.MethodPost) != 1 {
		t.Fatalf("not resumed after reload: %+v, %d POSTs", r, e.tusd.Count(http.MethodPost))
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 6))
	if extra := e.tusd.BodyBytes.Load() - size; extra > chunk {
		t.Fatalf("%d bytes re-sent", extra)
	}
	if n := eval[int](e, `Object.keys(localStorage).filter(k => k.startsWith('tuswasm::')).length`); n != 0 {
		t.Fatalf("localStorage keeps %d entries after success", n)
	}
}

func TestServerFaultsRecovered(t *testing.T) {
	cases := map[string]tusdtest.Fault{
		"5xx burst": tusdtest.Respond(tusdtest.Nth("PATCH", 2, 3, 4), 503, http.Header{"Retry-After": {"0"}}, "busy"),
		"500s":      tusdtest.Respond(tusdtest.Nth("PATCH", 1, 3), 500, nil, ""),
		"409":       tusdtest.Respond(tusdtest.Nth("PATCH", 2), 409, nil, "ERR_MISMATCHED_OFFSET"),
		"reset":     tusdtest.Truncate(tusdtest.Nth("PATCH", 2), 1000, true),
		"partial":   tusdtest.Truncate(tusdtest.Nth("PATCH", 2), 5000, false),
	}
	for name, fault := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.tusd.Inject(fault)
			const size = 4*chunk + 1
			o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 8), {endpoint: '/files/', chunkSize: %d, retry: {initialDelayMs: 10, maxDelayMs: 50}}))`, size, chunk))
			e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 8))
		})
	}
}

func TestExpiredUpload(t *testing.T) {
	e := newEnv(t)
	const size = 2*chunk + 3
	o := eval[outcome](e, `run(`+expiredThenRecreateJS(size, 12)+`)`)
	e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 12))
}

// expiredThenRecreateJS is an async function that creates an upload of a pattern file,
// terminates it, wants EXPIRED (404) when continuing it, and resolves to the result of
// continuing it with onExpired: 'recreate' (a new upload). The Chromium suite and the
// cross-browser smoke both run it.
func expiredThenRecreateJS(size, seed int) string {
	return fmt.Sprintf(`async () => {
		const f = makeFile(%d, %d)
		const url = await tus.create(f, {endpoint: '/files/'})
		await tus.terminate(url)
		const err = await tus.upload(f, {uploadUrl: url, endpoint: '/files/'}).then(() => null, e => e)
		if (!(err instanceof tus.TusError) || err.code !== 'EXPIRED' || err.status !== 404) throw new Error('want EXPIRED, got ' + err)
		const r = await tus.upload(f, {uploadUrl: url, endpoint: '/files/', onExpired: 'recreate', chunkSize: %d})
		if (r.url === url) throw new Error('not re-created')
		return r
	}`, size, seed, chunk)
}

// Two tabs upload the same file with useFileLock: the second gets LOCKED while the
// first holds the lock; the first completes.
func TestFileLockAcrossTabs(t *testing.T) {
	e := newEnv(t)
	const size = 2 * chunk
	h := holdNth(t, e.tusd, http.MethodPatch, 1, false)
	upload := fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 13, 'l.bin'), {endpoint: '/files/', chunkSize: %d, useFileLock: true})`, size, chunk)
	startIn(e, e.tab, `bg('a', () => `+upload+`)`)
	waitChan(t, "tab A's first PATCH", h.arrived)

	other := e.newTab()
	o := evalIn[outcome](e, other, `run(() => `+upload+`)`)
	if o.OK || o.Code != "LOCKED" {
		t.Fatalf("second tab: %+v, want LOCKED", o)
	}
	// With waitForLock, the second tab queues behind the first instead.
	waiting := strings.Replace(upload, "useFileLock: true", "useFileLock: true, waitForLock: true", 1)
	startIn(e, other, `bg('b', () => `+waiting+`)`)
	h.Release()
	r := e.waitDone("a").result(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 13))
	o = evalIn[outcome](e, other, `new Promise(r => { const t = () => state.b.done ? r(state.b.outcome) : setTimeout(t, 10); t() })`)
	e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 13))
}

func TestUploadClassPauseResume(t *testing.T) {
	e := newEnv(t)
	const size = 5 * chunk
	h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
	startIn(e, e.tab, fmt.Sprintf(`bg('u', async (s) => {
		window.up = new tus.Upload(makeFile(%d, 14, 'u.bin'), {endpoint: '/files/', chunkSize: %d, storage: false,
			onProgress: (sent) => s.progress.push(sent)})
		up.start()
		return up.done
	})`, size, chunk))
	waitChan(t, "the second PATCH", h.arrived)
	eval[any](e, `up.pause()`)
	waitChan(t, "pause to abort the PATCH", h.aborted)
	if done := eval[bool](e, `state.u.done`); done {
		t.Fatalf("pause settled done: %+v", eval[outcome](e, `state.u.outcome`))
	}
	eval[any](e, `up.resume()`)
	r := e.waitDone("u").result(t)
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs: resume created a new upload", n)
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 14))

	// abort({terminate: true}) deletes the server's upload.
	o := eval[outcome](e, fmt.Sprintf(`run(async () => {
		const up = new tus.Upload(makeFile(%d, 15), {endpoint: '/files/', chunkSize: %d, storage: false})
		let created
		const first = new Promise(r => { up.options.onCreate = r })
		up.start()
		created = await first
		await up.abort({terminate: true})
		const err = await up.done.then(() => null, e => e)
		if (err?.name !== 'AbortError') throw new Error('done settled with ' + err)
		return {url: created}
	})`, size, chunk))
	var got struct{ URL string }
	mustJSON(t, o.Value, &got)
	if !o.OK || got.URL == "" {
		t.Fatalf("abort: %+v", o)
	}
	if resp, err := http.DefaultClient.Do(headReq(t, got.URL)); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("terminated upload still answers HEAD: %v %v", resp.Status, err)
	}
}

// Two tabs take turns on one upload that localStorage remembers: tab A sends part of
// it and pauses, tab B resumes it and sends more, then tab A resumes again. Every byte
// on the server is the file's own: tab A must continue (each tab is its own process,
// and tab A's record of what it offered is out of date, not a lie detector).
func TestTwoTabsTakeTurns(t *testing.T) {
	e := newEnv(t)
	const size = 16 * chunk
	pauseJS := func(at int) string {
		return fmt.Sprintf(`run(() => {
			const c = new AbortController()
			return tus.createAndUpload(makeFile(%d, 2150, 'turns.bin'), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false,
				signal: c.signal, onProgress: (s) => { if (s >= %d) c.abort() }})
		})`, size, chunk, at)
	}
	if o := evalIn[outcome](e, e.tab, pauseJS(3*chunk)); o.OK || o.Name != "AbortError" {
		t.Fatalf("tab A's first call: %+v, want the pause", o)
	}
	tabB := e.newTab()
	if o := evalIn[outcome](e, tabB, pauseJS(10*chunk)); o.OK || o.Name != "AbortError" {
		t.Fatalf("tab B: %+v, want the pause", o)
	}
	o := evalIn[outcome](e, e.tab, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 2150, 'turns.bin'), {endpoint: '/files/', chunkSize: %d}))`, size, chunk))
	if !o.OK {
		t.Fatalf("tab A resuming after tab B sent more: %+v, want the upload continued", o)
	}
	r := o.result(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 2150))
	if !r.Resumed || e.tusd.Count(http.MethodPost) != 1 {
		t.Fatalf("%+v after %d POSTs, want the one upload continued", r, e.tusd.Count(http.MethodPost))
	}
}

// Many createAndUpload calls on the same file at once, storage on: later ones resume
// the upload the first is still sending unless they wait for it (wasm's pageLock): they
// did not, and failed with PROTOCOL when the first's progress passed what they had sent.
// All settle, and the bytes are right.
func TestConcurrentSameFile(t *testing.T) {
	e := newEnv(t)
	const size = 8 * chunk
	o := within(e, fmt.Sprintf(`(async () => {
		const file = makeFile(%[1]d, 260, 'same.bin')
		const opts = {endpoint: '/files/', chunkSize: %[2]d, adaptiveChunkSize: false, retry: {initialDelayMs: 10}}
		let later
		const started = new Promise((r) => { later = r })
		const first = tus.createAndUpload(file, {...opts, onProgress: (s) => s > 0 && later()})
		await started
		const rest = [1, 2, 3].map(() => tus.createAndUpload(file, opts))
		const all = await Promise.allSettled([first, ...rest])
		return all.map((s) => s.status === 'fulfilled' ? s.value.url : 'rejected: ' + (s.reason?.code ?? s.reason) + ' ' + s.reason?.message)
	})()`, size, chunk), 120000)
	if !o.OK {
		t.Fatalf("concurrent uploads: %+v", o)
	}
	var urls []string
	mustJSON(t, o.Value, &urls)
	for _, u := range urls {
		if strings.HasPrefix(u, "rejected") {
			t.Errorf("a concurrent upload of the same file: %s (all: %v)", u, urls)
			continue
		}
		e.tusd.AssertStored(t, u, pattern(size, 260))
	}
	if n := eval[int](e, `Object.keys(localStorage).filter(k => k.startsWith('tuswasm::')).length`); n != 0 {
		t.Errorf("%d entries left in storage", n)
	}
}
