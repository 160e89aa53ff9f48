package e2e

// An outside audit of the browser API (js/*.js and wasm/*.go): what a careless
// caller or a hostile server can do to the Upload class, the options, the hooks,
// storage adapters, streams and worker mode. Every wait has a deadline: a call that
// never settles fails the probe instead of the suite.

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// auditHelpers installs page helpers: within(p, ms) settles p into run()'s shape,
// or {hang: true} when it has not settled after ms; quiet() swaps console.error for
// a log (a throwing event callback is reported there by design).
func auditHelpers(e *env) {
	e.t.Helper()
	eval[any](e, `(() => {
		window.within = (p, ms) => Promise.race([run(() => p),
			new Promise((r) => setTimeout(() => r({ok: false, hang: true, message: 'still pending after ' + ms + ' ms'}), ms))])
		window.quiet = () => { window.logged = []; console.error = (...a) => window.logged.push(a.map(String).join(' ')) }
	})()`)
}

func auditEnv(t *testing.T, mode string) *env {
	if mode == "worker" {
		return newWorkerEnv(t)
	}
	return newEnv(t)
}

// inBothModes runs probe as a subtest in main-thread ("page") and worker mode, each in a
// fresh env with the audit helpers loaded.
func inBothModes(t *testing.T, probe func(t *testing.T, e *env, mode string)) {
	for _, mode := range []string{"page", "worker"} {
		t.Run(mode, func(t *testing.T) {
			e := auditEnv(t, mode)
			auditHelpers(e)
			probe(t, e, mode)
		})
	}
}

type settled struct {
	outcome
	Hang bool `json:"hang"`
}

func within(e *env, js string, ms int) settled {
	e.t.Helper()
	return eval[settled](e, fmt.Sprintf(`within((async () => %s)(), %d)`, js, ms))
}

// The Upload class's life cycle, as a careless caller drives it.
func TestAuditAPIUploadLifecycle(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		const size = 4 * chunk

		// pause() and resume() in one go, without awaiting the pause (tus-js-client
		// code does abort(); start()): the upload must go on and done settle.
		h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
		startIn(e, e.tab, fmt.Sprintf(`bg('pr', () => {
				window.up = new tus.Upload(makeFile(%d, 200, 'pr.bin'), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false, storage: false})
				up.start()
				return up.done
			})`, size, chunk))
		waitChan(t, "the second PATCH", h.arrived)
		eval[any](e, `up.pause(); up.resume()`)
		o := within(e, `up.done`, 30000)
		if o.Hang || !o.OK {
			t.Errorf("pause(); resume() without awaiting: done %+v, want the upload to complete", o)
		} else {
			e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 200))
		}

		// start() twice, and start() after success: one upload, no new request.
		o = within(e, fmt.Sprintf(`(async () => {
				const up = new tus.Upload(makeFile(%d, 201), {endpoint: '/files/', storage: false})
				up.start(); up.start()
				const r = await up.done
				up.start(); up.resume()
				await up.pause()
				return r
			})()`, size), 30000)
		if !o.OK {
			t.Fatalf("start twice: %+v", o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 201))
		if n := e.tusd.Count(http.MethodPost); n != 2 {
			t.Errorf("%d POSTs after start() twice (want one per upload)", n)
		}

		// url is a string, absolute, for an uploadUrl given as a URL or relative path.
		got := eval[[]string](e, `[new tus.Upload(makeFile(1, 1), {uploadUrl: new URL('/files/x', location.href)}).url,
				new tus.Upload(makeFile(1, 1), {uploadUrl: '/files/y'}).url].map((u) => typeof u + ' ' + u)`)
		for _, g := range got {
			if !strings.HasPrefix(g, "string "+e.origin+"/files/") {
				t.Errorf("up.url = %q, want an absolute URL string", g)
			}
		}

		// abort({terminate: true}) while the creation is in flight: both settle.
		hp := holdNth(t, e.tusd, http.MethodPost, 1, false)
		startIn(e, e.tab, fmt.Sprintf(`bg('ac', () => {
				window.up2 = new tus.Upload(makeFile(%d, 202, 'ac.bin'), {endpoint: '/files/'})
				up2.start()
				return up2.done
			})`, size))
		waitChan(t, "the POST", hp.arrived)
		a := within(e, `up2.abort({terminate: true})`, 30000)
		d := within(e, `up2.done`, 5000)
		if a.Hang || d.Hang || d.OK || d.Name != "AbortError" {
			t.Errorf("abort({terminate: true}) during creation: abort %+v, done %+v", a, d)
		}
		hp.Release()
	})
}

// An uploadUrl the caller passed keeps its trust through pause and resume, however
// it was written (relative, a URL object): the caller's headers still go to it.
func TestAuditAPIUploadURLTrustAfterResume(t *testing.T) {
	e := newEnv(t)
	auditHelpers(e)
	const size = 4 * chunk
	var mu sync.Mutex
	missing := 0
	e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method != http.MethodPatch && r.Method != http.MethodHead || r.Header.Get("X-Token") == "t" {
			return false
		}
		mu.Lock()
		missing++
		mu.Unlock()
		w.Header().Set("Tus-Resumable", "1.0.0")
		w.WriteHeader(http.StatusUnauthorized)
		return true
	})
	for i, form := range []string{`new URL(url)`, `new URL(url).pathname`} {
		seed := 210 + i
		url := eval[string](e, fmt.Sprintf(`tus.create(makeFile(%d, %d), {endpoint: '/files/'})`, size, seed))
		h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
		startIn(e, e.tab, fmt.Sprintf(`bg('t%d', () => {
			const url = %q
			window.up = new tus.Upload(makeFile(%d, %d), {uploadUrl: %s, headers: {'X-Token': 't'},
				chunkSize: %d, adaptiveChunkSize: false, storage: false, retry: {maxRetries: 0}})
			up.start()
			return up.done
		})`, i, url, size, seed, form, chunk))
		waitChan(t, "the second PATCH", h.arrived)
		eval[any](e, `up.pause().then(() => up.resume())`)
		o := e.waitDone(fmt.Sprintf("t%d", i))
		if !o.OK {
			t.Errorf("uploadUrl as %s: after pause and resume %+v (the caller's headers were dropped)", form, o)
			continue
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(size, uint32(seed)))
	}
}

// Options of a wrong kind that JavaScript lets through silently: each either works
// or is rejected with INVALID_OPTION (or HOOK from a hook), never silently dropped.
func TestAuditAPIOptionKinds(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		var mu sync.Mutex
		tokens := map[string]int{}
		e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			mu.Lock()
			tokens[r.Header.Get("X-Token")]++
			mu.Unlock()
			return false
		})
		sawToken := func(tok string) bool {
			mu.Lock()
			defer mu.Unlock()
			return tokens[tok] > 0
		}
		// headers as a Headers object.
		o := within(e, `tus.createAndUpload(makeFile(10, 220), {endpoint: '/files/', storage: false, headers: new Headers({'X-Token': 'hdr'})})`, 30000)
		if o.OK && !sawToken("hdr") || !o.OK && o.Code != "INVALID_OPTION" {
			t.Errorf("headers: new Headers(...): %+v, token sent %v: want it sent or INVALID_OPTION", o, sawToken("hdr"))
		}
		// a headers function that returns a Headers object.
		o = within(e, `tus.createAndUpload(makeFile(10, 221), {endpoint: '/files/', storage: false, headers: () => new Headers({'X-Token': 'fn'})})`, 30000)
		if o.OK && !sawToken("fn") || !o.OK && o.Code != "HOOK" && o.Code != "INVALID_OPTION" {
			t.Errorf("headers function returning Headers: %+v, token sent %v", o, sawToken("fn"))
		}
		// metadata as a Map.
		o = within(e, `tus.createAndUpload(makeFile(10, 222), {endpoint: '/files/', storage: false, metadata: new Map([['filename', 'm.bin']])})`, 30000)
		if o.OK {
			r := o.result(t)
			resp, err := http.DefaultClient.Do(headReq(t, r.URL))
			if err != nil || !strings.Contains(resp.Header.Get("Upload-Metadata"), "filename") {
				t.Errorf("metadata: new Map(...): uploaded without its metadata (%v)", err)
			}
		} else if o.Code != "INVALID_OPTION" {
			t.Errorf("metadata: new Map(...): %+v", o)
		}
		// The Upload class with a signal that is not an AbortSignal (the controller).
		o = within(e, `(async () => {
				const ctl = new AbortController()
				const up = new tus.Upload(makeFile(10, 223), {endpoint: '/files/', storage: false, signal: ctl})
				up.start()
				return up.done
			})()`, 30000)
		if o.OK || o.Code != "INVALID_OPTION" {
			t.Errorf("Upload with signal: an AbortController: %+v, want INVALID_OPTION as createAndUpload gives", o)
		}
		// onBeforeRequest that leaves a header with a line break or a number.
		for _, bad := range []string{`'a\nb'`, `5`} {
			posts := e.tusd.Count(http.MethodPost)
			o = within(e, `tus.createAndUpload(makeFile(10, 224), {endpoint: '/files/', storage: false, retry: {initialDelayMs: 10},
					onBeforeRequest: (req) => { req.headers['X-Bad'] = `+bad+` }})`, 30000)
			if o.OK || o.Code != "HOOK" && o.Code != "INVALID_OPTION" || e.tusd.Count(http.MethodPost) != posts {
				t.Errorf("onBeforeRequest setting X-Bad to %s: %+v after %d POSTs, want HOOK or INVALID_OPTION before any", bad, o, e.tusd.Count(http.MethodPost)-posts)
			}
		}
		// init() cannot switch modes; the same options again are fine.
		if mode == "worker" {
			o = within(e, `tus.init({worker: true})`, 10000)
			if !o.OK {
				t.Errorf("init({worker: true}) again: %+v", o)
			}
		}
	})
}

// A caller's storage adapter that throws, returns garbage, or never answers: storage
// never fails (or holds) an upload, and the storage helpers fail with a code that is
// not INTERNAL ("a bug in tuswasm").
func TestAuditAPIStorageAdapters(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		eval[any](e, `(() => {
				const boom = () => { throw new RangeError('storage is broken') }
				window.throwing = {get: boom, set: boom, remove: boom, list: boom}
				window.rejecting = {get: async () => boom(), set: async () => boom(), remove: async () => boom(), list: async () => boom()}
				window.garbage = {get: () => 42, set: () => 'ok', remove: () => ({}), list: () => [42, null, 'x', {url: 7}]}
				window.notArray = {get: () => null, set: () => {}, remove: () => {}, list: () => 'nope'}
				const never = () => new Promise(() => {})
				window.hanging = {get: never, set: never, remove: never, list: never}
			})()`)
		const size = 2*chunk + 1
		for i, s := range []string{"throwing", "rejecting", "garbage", "notArray"} {
			seed := 230 + i
			o := within(e, fmt.Sprintf(`tus.createAndUpload(makeFile(%d, %d), {endpoint: '/files/', chunkSize: %d, storage: %s})`, size, seed, chunk, s), 30000)
			if !o.OK {
				t.Errorf("upload with %s storage: %+v, want success without storage", s, o)
			} else {
				e.tusd.AssertStored(t, o.result(t).URL, pattern(size, uint32(seed)))
			}
			l := within(e, fmt.Sprintf(`tus.listUploads({storage: %s})`, s), 10000)
			if !l.OK && (l.Code == "INTERNAL" || l.Code == "") || l.Hang {
				t.Errorf("listUploads with %s storage: %+v, want a result or a TusError that is not INTERNAL", s, l)
			}
			r := within(e, fmt.Sprintf(`tus.removeUpload('fp', {storage: %s})`, s), 10000)
			if !r.OK && (r.Code == "INTERNAL" || r.Code == "") || r.Hang {
				t.Errorf("removeUpload with %s storage: %+v", s, r)
			}
		}
		// A storage whose Promises never settle must not hold the upload forever.
		o := within(e, fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 240), {endpoint: '/files/', chunkSize: %d, storage: hanging})`, size, chunk), 60000)
		if !o.OK {
			t.Errorf("upload with a storage that never answers: %+v", o)
		}
		l := within(e, `tus.listUploads({storage: hanging})`, 30000)
		if l.Hang {
			t.Errorf("listUploads with a storage that never answers: %+v", l)
		}
	})
}

// storage: 'indexeddb' where IndexedDB never answers (a blocked open): uploads go on.
func TestAuditAPIIndexedDBBlocked(t *testing.T) {
	e := newEnv(t)
	auditHelpers(e)
	eval[any](e, `void Object.defineProperty(window, 'indexedDB', {configurable: true, value: {open: () => ({})}})`)
	const size = 2*chunk + 1
	o := within(e, fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 241), {endpoint: '/files/', chunkSize: %d, storage: 'indexeddb'})`, size, chunk), 60000)
	if !o.OK {
		t.Fatalf("upload with an IndexedDB that never opens: %+v", o)
	}
	e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 241))
}

// ReadableStreams that misbehave: each call settles with a typed error or uploads
// exactly the stream's bytes; nothing is silently truncated.
func TestAuditAPIStreams(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		eval[any](e, `window.chunks = (list, err) => { let i = 0; return new ReadableStream({ pull (c) {
				if (i < list.length) return c.enqueue(list[i++])
				if (err) return c.error(err)
				c.close()
			} }) }`)
		opts := fmt.Sprintf(`endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false, retry: {initialDelayMs: 10}`, chunk)
		for name, js := range map[string]string{
			"errors mid-way": `chunks([pattern(300000, 1), pattern(300000, 2)], new Error('microphone unplugged'))`,
			"strings":        `chunks(['hello', 'world'])`,
			"ArrayBuffers":   `chunks([new ArrayBuffer(10)])`,
			"numbers":        `chunks([1, 2, 3])`,
		} {
			o := within(e, `tus.createAndUpload(`+js+`, {`+opts+`})`, 30000)
			if o.Hang || o.OK || o.Name != "TusError" || o.Code == "INTERNAL" {
				t.Errorf("stream that %s: %+v, want a TusError", name, o)
			}
		}
		o := within(e, `(() => { const s = chunks([pattern(10, 1)]); s.getReader(); return tus.createAndUpload(s, {`+opts+`}) })()`, 30000)
		if o.OK || o.Code != "INVALID_OPTION" {
			t.Errorf("a locked stream: %+v", o)
		}
		// uploadSize that does not match what the stream yields.
		for _, c := range []struct {
			n, declared int
		}{{100, 10}, {10, 100}, {3*chunk + 5, 2 * chunk}, {2 * chunk, 3 * chunk}} {
			o := within(e, fmt.Sprintf(`tus.createAndUpload(chunks([pattern(%d, 3)]), {%s, uploadSize: %d})`, c.n, opts, c.declared), 30000)
			if o.Hang || o.OK || o.Code != "FILE_CHANGED" && o.Code != "INVALID_OPTION" {
				t.Errorf("a stream of %d bytes with uploadSize %d: %+v, want FILE_CHANGED", c.n, c.declared, o)
			}
		}
	})
}

// Event callbacks that throw, and hooks that answer oddly.
func TestAuditAPICallbacks(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		eval[any](e, `quiet()`)
		const size = 3*chunk + 1
		o := within(e, fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 250), {endpoint: '/files/', chunkSize: %d, storage: false,
				onProgress: () => { throw new Error('bar is gone') }, onUploadUrlAvailable: () => { throw 'x' }, onCreate: async () => { throw new Error('y') }})`, size, chunk), 30000)
		if !o.OK {
			t.Fatalf("throwing event callbacks: %+v", o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 250))
		// onShouldRetry that rejects ends the call as HOOK, with the server's error named.
		e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if r.Method != http.MethodPost {
				return false
			}
			w.Header().Set("Tus-Resumable", "1.0.0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		})
		o = within(e, `tus.createAndUpload(makeFile(10, 251), {endpoint: '/files/', storage: false, retry: {initialDelayMs: 10},
				onShouldRetry: async () => { throw new Error('no') }})`, 30000)
		if o.OK || o.Code != "HOOK" || !strings.Contains(o.Message, "503") {
			t.Errorf("rejecting onShouldRetry: %+v, want HOOK naming the 503", o)
		}
	})
}

// An onShouldRetry that never settles holds the call until its signal aborts it; the
// call must then reject with AbortError (an abort is a pause), not with the HTTP error
// the hook was asked about.
func TestAuditAPIShouldRetryPendingAbort(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		e.tusd.Inject(tusdtest.Respond(func(r *http.Request) bool { return r.Method == http.MethodPost }, http.StatusServiceUnavailable, nil, ""))
		for i := range 3 {
			o := within(e, `(() => { const c = new AbortController()
					return tus.createAndUpload(makeFile(10, 252), {endpoint: '/files/', storage: false, signal: c.signal,
						onShouldRetry: () => { setTimeout(() => c.abort(), 100); return new Promise(() => {}) }}) })()`, 30000)
			if o.OK || o.Name != "AbortError" {
				t.Errorf("run %d: a pending onShouldRetry, then abort: %+v, want AbortError", i, o)
			}
		}
	})
}

// Many createAndUpload calls on the same file at once, storage on: later ones resume
// the upload the first is still sending unless they wait for it (wasm's pageLock): they
// did not, and failed with PROTOCOL when the first's progress passed what they had sent.
// All settle, and the bytes are right.
func TestAuditAPIConcurrentSameFile(t *testing.T) {
	e := newEnv(t)
	auditHelpers(e)
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

// A stream uploaded to its end, given again: nothing is left to read, and the second
// call must say so rather than upload an empty file as a success. In worker mode the
// worker lets the finished stream go (its buffers with it).
func TestAuditAPIStreamGivenAgain(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		const size = 3 * chunk
		o := within(e, fmt.Sprintf(`{
				window.st = %s
				return await tus.createAndUpload(st, {endpoint: '/files/', chunkSize: %d})
			}`, streamJS(size, 270), chunk), 60000)
		if !o.OK {
			t.Fatalf("first upload: %+v", o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 270))
		again := within(e, `tus.createAndUpload(st, {endpoint: '/files/'})`, 30000)
		if again.OK || again.Hang || again.Code != "FILE_CHANGED" {
			t.Fatalf("the same stream again: %+v, want FILE_CHANGED", again)
		}
		t.Logf("the same stream again: %s %s", again.Code, again.Message)
	})
}
