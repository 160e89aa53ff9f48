package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/chromedp"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// Issue 16, item 1: Upload's pause and resume hand the upload URL back to the engine;
// a URL the server gave on another origin must not receive the caller's headers then.
func TestUploadClassKeepsServerTrust(t *testing.T) {
	e := newEnv(t)
	storage, storageOrigin := uploadsElsewhere(t, e)
	var onStorage headerLog
	storage.Inject(onStorage.fault)
	h := holdNth(t, storage, http.MethodPatch, 2, true)
	const size = 4*chunk + 3
	startIn(e, e.tab, fmt.Sprintf(`bg('u', () => {
		window.up = new tus.Upload(makeFile(%d, 80, 'trust.bin'), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false,
			storage: false, headers: {Authorization: 'Bearer s3cret'}})
		up.start()
		return up.done
	})`, size, chunk))
	waitChan(t, "the second PATCH", h.arrived)
	eval[any](e, `up.pause()`)
	waitChan(t, "pause to abort the PATCH", h.aborted)
	if u := eval[string](e, `up.url`); !strings.HasPrefix(u, storageOrigin) {
		t.Fatalf("up.url = %q, want the storage origin's upload", u)
	}
	eval[any](e, `up.resume()`)
	r := e.waitDone("u").result(t)
	storage.AssertStored(t, r.URL, pattern(size, 80))
	if seen := onStorage.take(); len(seen) != 0 {
		t.Fatalf("the storage origin received %v after pause and resume", seen)
	}
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs: resume created a new upload", n)
	}
}

// Issue 10: an Upload that resumes a stored upload reports its URL (up.url), and
// abort({terminate: true}) deletes the server's copy and the stored entry in one call.
// Issue 16, item 8: done settles however the DELETE ends.
func TestUploadAbortTerminate(t *testing.T) {
	e := newEnv(t)
	const size = 4 * chunk
	file := fmt.Sprintf(`makeFile(%d, 81, 'term.bin')`, size)
	pauseAt(t, e, fmt.Sprintf(`tus.createAndUpload(%s, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false, signal: ctl.signal})`, file, chunk))
	stored := eval[string](e, `tus.listUploads().then(l => l[0].url)`)
	h := holdNth(t, e.tusd, http.MethodPatch, 1, true) // the resumed upload's first PATCH
	startIn(e, e.tab, fmt.Sprintf(`bg('t', async () => {
		window.up = new tus.Upload(%s, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false})
		up.start()
		return up.done
	})`, file, chunk))
	waitChan(t, "the resumed upload's PATCH", h.arrived)
	if u := eval[string](e, `up.url`); u != stored {
		t.Fatalf("up.url = %q after resuming, want the stored %q", u, stored)
	}
	eval[any](e, `up.abort({terminate: true})`)
	if o := e.waitDone("t"); o.OK || o.Name != "AbortError" {
		t.Fatalf("done settled with %+v, want AbortError", o)
	}
	if resp, err := http.DefaultClient.Do(headReq(t, stored)); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the terminated upload still answers HEAD: %v %v", resp.Status, err)
	}
	if n := eval[int](e, `tus.listUploads().then(l => l.length)`); n != 0 {
		t.Fatalf("%d stored entries after abort({terminate: true})", n)
	}
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs: the Upload created instead of resuming", n)
	}

	// The DELETE finds the upload already gone (404): that is success. The DELETE
	// fails (connection reset, no retries): abort() rejects, done still settles.
	var reset atomic.Bool
	e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method != http.MethodDelete || !reset.Load() {
			return false
		}
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return true
	})
	for i, tc := range []struct{ name, want string }{{"gone", "ok"}, {"reset", "NETWORK"}} {
		reset.Store(tc.name == "reset")
		h := holdNth(t, e.tusd, http.MethodPatch, 1, true)
		key := fmt.Sprintf("d%d", i)
		startIn(e, e.tab, fmt.Sprintf(`bg(%q, () => {
			window.up = new tus.Upload(makeFile(%d, 82), {endpoint: '/files/', storage: false, retry: {maxRetries: 0}})
			up.start()
			return up.done
		})`, key, size))
		waitChan(t, "the PATCH", h.arrived)
		aborted := eval[string](e, fmt.Sprintf(`(async () => {
			if (%q === 'gone') await tus.terminate(up.url)
			return up.abort({terminate: true}).then(() => 'ok', (e) => e.code)
		})()`, tc.name))
		if o := e.waitDone(key); aborted != tc.want || o.OK || o.Name != "AbortError" {
			t.Fatalf("%s: abort gave %s (want %s), done settled with %+v (want AbortError)", tc.name, aborted, tc.want, o)
		}
	}
	o := eval[outcome](e, fmt.Sprintf(`run(async () => {
		const up = new tus.Upload(makeFile(%d, 83), {endpoint: '/files/', storage: false})
		const done = up.done.then(() => 'resolved', (e) => e.name)
		await up.abort({terminate: true}) // before start: nothing to delete
		return {done: await done}
	})`, size))
	var got struct{ Done string }
	mustJSON(t, o.Value, &got)
	if !o.OK || got.Done != "AbortError" {
		t.Fatalf("abort before start: %+v", o)
	}
}

// Issue 10: options go through one table: a typo or a wrong type rejects with
// INVALID_OPTION naming the key, before any request; every export returns a
// rejected Promise for bad input instead of throwing.
func TestOptionsCheckedInBrowser(t *testing.T) {
	e := newEnv(t)
	for opts, mention := range map[string]string{
		`{endpoint: '/files/', chunksize: 1024}`:                 `unknown option "chunksize" (did you mean "chunkSize"?)`,
		`{endpoint: '/files/', checkServerCapabilites: true}`:    `did you mean "checkServerCapabilities"?`,
		`{endpoint: '/files/', useFileLock: 'false'}`:            "useFileLock must be a boolean, not a string",
		`{endpoint: '/files/', chunkSize: NaN}`:                  "chunkSize must be a positive number of bytes, not NaN",
		`{endpoint: 42}`:                                         "endpoint must be a non-empty URL (string or URL), not a number",
		`{endpoint: ''}`:                                         "endpoint must be a non-empty URL",
		`{endpoint: '/files/', uploadSize: 1.5}`:                 "uploadSize must be a non-negative whole number of bytes",
		`{endpoint: '/files/', waitForLock: true}`:               "waitForLock needs useFileLock",
		`{endpoint: '/files/', onProgress: 'console.log'}`:       "onProgress must be a function, not a string",
		`{endpoint: '/files/', retry: {maxRetries: '3'}}`:        "retry.maxRetries must be a non-negative number, not a string",
		`{endpoint: 'http://user:pw@127.0.0.1:1/files/'}`:        "must not carry credentials",
		`{endpoint: '/files/', headers: {'X-A': 'a\r\nX-B: b'}}`: "CR, LF, NUL",
	} {
		o := eval[outcome](e, `run(() => tus.createAndUpload(makeFile(10, 1), `+opts+`))`)
		if o.OK || o.Code != "INVALID_OPTION" || !strings.Contains(o.Message, mention) {
			t.Errorf("%s: %+v, want INVALID_OPTION mentioning %q", opts, o, mention)
		}
	}
	if n := len(e.tusd.Requests()); n != 0 {
		t.Fatalf("%d requests sent with invalid options", n)
	}
	// Bad arguments of every kind to every export: a rejected Promise, never a throw.
	got := eval[map[string]string](e, `(async () => {
		const f = makeFile(1, 1)
		const calls = {
			createAndUpload: () => tus.createAndUpload('not a file', {endpoint: '/files/'}),
			create: () => tus.create(f, 'options'),
			upload: () => tus.upload(f, {endpoint: '/files/'}),
			terminate: () => tus.terminate(42),
			terminateBadURL: () => tus.terminate('http://[::1'),
			terminateEmptyURL: () => tus.terminate(''),
			findPreviousUploads: () => tus.findPreviousUploads(f, {endpoint: '/files/', chunkSize: 1}),
			listUploads: () => tus.listUploads({storage: 'sessionStorage'}),
			removeUpload: () => tus.removeUpload({}),
			normalise: () => tus.createAndUpload(f, {endpoint: 'http://[::1'}),
			uploadClass: () => { const up = new tus.Upload(f, {endpoint: '/files/', chunkSize: -1}); up.start(); return up.done },
		}
		const out = {}
		for (const [name, fn] of Object.entries(calls)) {
			let p
			try { p = fn() } catch (e) { out[name] = 'threw ' + e; continue }
			if (!(p instanceof Promise)) { out[name] = 'returned ' + p; continue }
			out[name] = await p.then(() => 'resolved', (e) => e instanceof tus.TusError ? e.code : 'rejected ' + e)
		}
		return out
	})()`)
	for name, code := range got {
		if code != "INVALID_OPTION" {
			t.Errorf("%s: %s, want a rejection with INVALID_OPTION", name, code)
		}
	}
}

// Issue 16, item 12: aborting a waitForLock wait before the lock is granted ends the
// wait and leaves nothing behind (no Go goroutine, no pending lock request).
func TestWaitForLockAbortReleases(t *testing.T) {
	e := newEnv(t)
	const size = 2 * chunk
	h := holdNth(t, e.tusd, http.MethodPatch, 1, false)
	upload := func(seed int, extra string) string {
		return fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 84, 'lock.bin'), {endpoint: '/files/', chunkSize: %d, storage: false, useFileLock: true%s})`, size, chunk, extra)
	}
	startIn(e, e.tab, `bg('a', () => `+upload(84, "")+`)`)
	waitChan(t, "the lock holder's PATCH", h.arrived)
	goroutines := func() int { return eval[int](e, `tus.stats().goroutines`) }
	pending := func() int { return eval[int](e, `navigator.locks.query().then(q => q.pending.length)`) }
	before := goroutines()
	startIn(e, e.tab, `bg('b', () => { window.ctl2 = new AbortController(); return `+upload(84, ", waitForLock: true, signal: ctl2.signal")+` })`)
	waitFor(t, "the second upload to wait for the lock", 10*time.Second, func() bool { return pending() == 1 })
	eval[any](e, `ctl2.abort()`)
	if o := e.waitDone("b"); o.OK || o.Name != "AbortError" {
		t.Fatalf("aborted wait settled with %+v", o)
	}
	if n := pending(); n != 0 {
		t.Fatalf("%d lock requests still pending after the abort", n)
	}
	var now int
	waitFor(t, "the aborted wait's goroutines to end", 10*time.Second, func() bool { now = goroutines(); return now <= before })
	h.Release()
	e.tusd.AssertStored(t, e.waitDone("a").result(t).URL, pattern(size, 84))
	// The lock is free again: an upload that does not wait gets it.
	o := eval[outcome](e, `run(() => `+upload(84, "")+`)`)
	e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 84))
}

// Issue 10, item 5: an expiring token through a headers function and onShouldRetry;
// onBeforeRequest adds a request ID, onAfterResponse sees every reply; the hooks never
// see requests to an origin the headers policy excludes; a throwing hook is HOOK.
func TestHooksInBrowser(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	patches, withID, expired := 0, 0, false
	e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("X-Request-Id") != "" {
			withID++
		}
		if r.Method == http.MethodPatch {
			if patches++; patches == 2 {
				expired = true // the token expires mid-upload
			}
		}
		if expired && r.Header.Get("Authorization") == "Bearer old" && r.Method != http.MethodOptions {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Tus-Resumable", "1.0.0")
			w.WriteHeader(http.StatusUnauthorized)
			return true
		}
		return false
	})
	const size = 4 * chunk
	o := eval[outcome](e, fmt.Sprintf(`run(async () => {
		let token = 'old'
		const statuses = [], methods = []
		const r = await tus.createAndUpload(makeFile(%d, 85), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false,
			storage: false, retry: {initialDelayMs: 10},
			headers: async () => ({Authorization: 'Bearer ' + token}),
			onBeforeRequest: (req) => { methods.push(req.method); req.headers['X-Request-ID'] = crypto.randomUUID() },
			onAfterResponse: async (req, res) => { statuses.push(res.status) },
			onShouldRetry: (err, attempt) => {
				if (err.status === 401) { token = 'new'; return attempt === 1 }
			},
		})
		return {...r, statuses, methods}
	})`, size, chunk))
	r := o.result(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 85))
	var got struct {
		Statuses []int
		Methods  []string
	}
	mustJSON(t, o.Value, &got)
	n := len(e.tusd.Requests())
	mu.Lock()
	ids := withID
	mu.Unlock()
	if len(got.Methods) != n || len(got.Statuses) != n || ids != n {
		t.Fatalf("%d requests: onBeforeRequest saw %d, onAfterResponse %d, %d carried the request ID", n, len(got.Methods), len(got.Statuses), ids)
	}
	if !slices.Contains(got.Statuses, 401) || got.Statuses[0] != 201 {
		t.Fatalf("onAfterResponse saw %v", got.Statuses)
	}

	// Uploads that live on another origin: the hooks see the creation only.
	uploadsElsewhere(t, e)
	o = eval[outcome](e, fmt.Sprintf(`run(async () => {
		const methods = []
		const r = await tus.createAndUpload(makeFile(%d, 86), {endpoint: '/files/', chunkSize: %d, storage: false,
			headers: {Authorization: 'Bearer new'}, onBeforeRequest: (req) => { methods.push(req.method + ' ' + req.url) }})
		return {...r, methods}
	})`, size, chunk))
	mustJSON(t, o.Value, &got)
	if !o.OK || len(got.Methods) != 1 || !strings.HasPrefix(got.Methods[0], "POST "+e.origin) {
		t.Fatalf("hooks saw %v (%+v), want only the POST to the endpoint", got.Methods, o)
	}

	// A hook that throws ends the call with HOOK, its error as the cause.
	cause := eval[map[string]string](e, `tus.createAndUpload(makeFile(10, 87), {endpoint: '/files/', storage: false,
		onBeforeRequest: () => { throw new RangeError('no token today') }}).then(() => ({}), (e) => ({code: e.code, cause: e.cause?.name, msg: e.cause?.message}))`)
	if cause["code"] != "HOOK" || cause["cause"] != "RangeError" || cause["msg"] != "no token today" {
		t.Fatalf("throwing hook: %v", cause)
	}
}

// Every function the caller passes has a bounded wait (10 s): an onShouldRetry or an
// onBeforeRequest that never settles ends the call with HOOK, not a hang, and not
// NETWORK when the request's own timeout is shorter than the hook's bound.
func TestHooksBoundedInBrowser(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		e.tusd.Inject(tusdtest.Respond(func(r *http.Request) bool { return r.Method == http.MethodPost && r.Header.Get("X-Case") == "retry" },
			http.StatusServiceUnavailable, nil, ""))
		o := within(e, `Promise.allSettled([
			tus.createAndUpload(makeFile(10, 330), {endpoint: '/files/', storage: false, headers: {'X-Case': 'retry'},
				onShouldRetry: () => new Promise(() => {})}),
			tus.createAndUpload(makeFile(10, 331), {endpoint: '/files/', storage: false, requestTimeoutMs: 2000,
				onBeforeRequest: () => new Promise(() => {})}),
		]).then((all) => all.map((s) => s.status + ' ' + (s.reason?.code ?? '') + ' ' + (s.reason?.message ?? '')))`, 30000)
		if o.Hang || !o.OK {
			t.Fatalf("pending hooks: %+v", o)
		}
		var got []string
		mustJSON(t, o.Value, &got)
		for i, g := range got {
			if !strings.HasPrefix(g, "rejected HOOK ") {
				t.Errorf("call %d with a hook that never answers: %s, want HOOK", i, g)
			}
		}
		if n := e.tusd.Count(http.MethodPost); n != 1 {
			t.Errorf("%d POSTs, want only the one onShouldRetry was asked about", n)
		}
	})
}

// onShouldRetry is not asked about a failure at an upload URL on another origin (a
// storage origin the API server pointed to): the default decision retries its 503.
func TestShouldRetryOnlyForTrustedOriginsInBrowser(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		storage, _ := uploadsElsewhere(t, e)
		storage.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPatch, 1), http.StatusServiceUnavailable, nil, ""))
		var trustedPatches atomic.Int32
		e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if r.Method == http.MethodPatch {
				trustedPatches.Add(1)
			}
			return false
		})
		const size = 3 * chunk
		o := within(e, fmt.Sprintf(`(async () => {
			window.asked = []
			const r = await tus.createAndUpload(makeFile(%d, 2160), {endpoint: '/files/', storage: false, chunkSize: %d,
				adaptiveChunkSize: false, uploadDataDuringCreation: false, retry: {initialDelayMs: 10},
				onShouldRetry: (err, attempt) => { asked.push(err.code + ' ' + err.status); return false }})
			return {...r, asked}
		})()`, size, chunk), 30000)
		if o.Hang || !o.OK {
			t.Fatalf("a 503 at another origin's upload URL: %+v, want it retried by default and the upload done", o)
		}
		var got struct {
			result
			Asked []string `json:"asked"`
		}
		mustJSON(t, o.Value, &got)
		storage.AssertStored(t, got.URL, pattern(size, 2160))
		if len(got.Asked) != 0 {
			t.Fatalf("onShouldRetry was asked %v about another origin's failure", got.Asked)
		}
		if trustedPatches.Load() != 0 {
			t.Fatal("PATCHes went to the API origin: the test did not test another origin")
		}
	})
}

// The Upload class's life cycle, as a careless caller drives it.
func TestUploadClassLifecycle(t *testing.T) {
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

// Options of a wrong kind that JavaScript lets through silently: each either works
// or is rejected with INVALID_OPTION (or HOOK from a hook), never silently dropped.
func TestOptionKinds(t *testing.T) {
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

// Event callbacks that throw, and hooks that answer oddly.
func TestCallbacksThrow(t *testing.T) {
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
func TestShouldRetryPendingThenAbort(t *testing.T) {
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

// An Upload paused while the module dies (the worker is killed, the Go program
// exits) resumes: the next call starts the module again, as every other call does,
// and the same upload goes on (no second creation), its bytes stored.
func TestUploadClassResumesAfterModuleDeath(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		const size = 4 * chunk
		h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
		startIn(e, e.tab, fmt.Sprintf(`bg('u', () => {
			window.up = new tus.Upload(makeFile(%d, 2301, 'death.bin'), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false, storage: false})
			up.start()
			return up.done
		})`, size, chunk))
		waitChan(t, "the second PATCH", h.arrived)
		if o := within(e, `up.pause()`, 30000); o.Hang || !o.OK {
			t.Fatalf("pause: %+v", o)
		}
		eval[any](e, `kill()`)
		waitFor(t, "the page to see the module's death", 30*time.Second, func() bool {
			return eval[bool](e, `tus.stats().wasmMemoryBytes === 0`)
		})
		takeProblems(e)
		eval[any](e, `up.resume()`)
		o := within(e, `up.done`, 60000)
		if o.Hang || !o.OK {
			t.Fatalf("resume after the module died while paused: %+v, want the upload to complete", o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 2301))
		if n := e.tusd.Count(http.MethodPost); n != 1 {
			t.Errorf("%d POSTs: the resumed Upload created a new upload", n)
		}
		takeProblems(e)
	})
}

// abort({terminate: true}) deletes the stored upload even when the options' signal
// has already aborted (the caller's cancel button aborts it first): the signal ends
// the sending, never the termination.
func TestUploadAbortTerminateAfterSignal(t *testing.T) {
	e := newEnv(t)
	const size = 4 * chunk
	file := fmt.Sprintf(`makeFile(%d, 2302, 'sig.bin')`, size)
	pauseAt(t, e, fmt.Sprintf(`tus.createAndUpload(%s, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false, signal: ctl.signal})`, file, chunk))
	stored := eval[string](e, `tus.listUploads().then(l => l[0].url)`)
	o := within(e, fmt.Sprintf(`(async () => {
		const c = new AbortController()
		c.abort()
		const up = new tus.Upload(%s, {endpoint: '/files/', signal: c.signal})
		const done = up.done.then(() => 'resolved', (e) => e.name)
		await up.abort({terminate: true})
		return {done: await done}
	})()`, file), 30000)
	if o.Hang || !o.OK {
		t.Fatalf("abort({terminate: true}) with an aborted signal: %+v, want it to delete the stored upload", o)
	}
	if resp, err := http.DefaultClient.Do(headReq(t, stored)); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the stored upload still answers HEAD: %v %v", resp.Status, err)
	}
	if n := eval[int](e, `tus.listUploads().then(l => l.length)`); n != 0 {
		t.Fatalf("%d stored entries after abort({terminate: true})", n)
	}
}

// Many Upload objects driven every way a page drives them (to the end, paused and
// resumed, aborted while running, aborted with terminate before any start, a shared
// AbortSignal) leave no goroutine behind: each lets its upload object go.
func TestUploadClassLeavesNothing(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		// stats() is live on the page and a snapshot in worker mode: a call refreshes it.
		goroutines := func() int { return eval[int](e, `tus.listUploads().then(() => tus.stats().goroutines)`) }
		if o := within(e, `tus.createAndUpload(makeFile(10, 2304), {endpoint: '/files/', storage: false})`, 30000); !o.OK {
			t.Fatalf("warm-up: %+v", o)
		}
		before := goroutines()
		o := within(e, fmt.Sprintf(`(async () => {
			const shared = new AbortController()
			const opts = {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false, storage: false, signal: shared.signal,
				onProgress: () => {}, onShouldRetry: () => undefined, headers: () => ({'X-A': '1'})}
			const settle = (p) => p.then(() => 'ok', (e) => e.name)
			const seen = []
			for (let i = 0; i < 15; i++) {
				const a = new tus.Upload(makeFile(%d, 2305 + i), opts)
				a.start()
				seen.push(await settle(a.done))
				const b = new tus.Upload(makeFile(%d, 2400 + i), opts)
				b.start()
				await b.pause()
				b.resume()
				seen.push(await settle(b.done))
				const c = new tus.Upload(makeFile(%d, 2500 + i), opts)
				c.start()
				await c.abort()
				seen.push(await settle(c.done))
				const d = new tus.Upload(makeFile(10, 2600 + i), opts)
				await d.abort({terminate: true})
				seen.push(await settle(d.done))
			}
			return seen.join(',')
		})()`, chunk, 2*chunk+1, 2*chunk+1, 2*chunk+1), 120000)
		if o.Hang || !o.OK {
			t.Fatalf("the Upload lifecycles: %+v", o)
		}
		var seen string
		mustJSON(t, o.Value, &seen)
		if want := strings.Repeat("ok,ok,AbortError,AbortError,", 15); seen+"," != want {
			t.Fatalf("outcomes %s, want %s", seen, want)
		}
		var now int
		waitFor(t, "the Upload objects' goroutines to end", 20*time.Second, func() bool { now = goroutines(); return now <= before })
	})
}

// abort() stops for good: a start() (or resume()) in the same tick after it, as
// tus-js-client code writes abort(); start(), must not send the upload's requests
// once more while done rejects with AbortError.
func TestUploadClassAbortThenStartSameTick(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		const size = 4 * chunk
		h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
		startIn(e, e.tab, fmt.Sprintf(`bg('u', () => {
			window.sent = 0
			window.up = new tus.Upload(makeFile(%d, 2310, 'as.bin'), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false,
				storage: false, onBeforeRequest: () => { window.sent++ }})
			up.start()
			return up.done
		})`, size, chunk))
		waitChan(t, "the second PATCH", h.arrived)
		if o := within(e, `up.pause()`, 30000); o.Hang || !o.OK {
			t.Fatalf("pause: %+v", o)
		}
		goroutines := func() int { return eval[int](e, `tus.listUploads().then(() => tus.stats().goroutines)`) }
		before := goroutines()
		sent := eval[int](e, `window.sent`)
		o := within(e, `(() => { up.abort(); up.start(); return up.done })()`, 30000)
		if o.Hang || o.OK || o.Name != "AbortError" {
			t.Fatalf("abort(); start(): done %+v, want AbortError", o)
		}
		waitFor(t, "the Upload's goroutines to end", 20*time.Second, func() bool { return goroutines() <= before })
		if n := eval[int](e, `window.sent`) - sent; n != 0 {
			t.Fatalf("abort(); start() in one tick: %d requests prepared after abort()", n)
		}
	})
}

// README's Upload example: `const result = await up.done` and then
// `await up.abort({terminate: true})` deletes the server's copy. An upload the server
// put on another origin is deleted there without the caller's headers, as the upload
// object sent its requests.
func TestUploadAbortTerminateAfterDone(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		const size = 2*chunk + 5
		o := within(e, fmt.Sprintf(`(async () => {
			const up = new tus.Upload(makeFile(%d, 2320, 'after.bin'), {endpoint: '/files/', chunkSize: %d})
			up.start()
			const r = await up.done
			await up.abort({terminate: true})
			return r
		})()`, size, chunk), 30000)
		if o.Hang || !o.OK {
			t.Fatalf("abort({terminate: true}) after done: %+v, want the server's copy deleted", o)
		}
		r := o.result(t)
		if resp, err := http.DefaultClient.Do(headReq(t, r.URL)); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("the completed upload still answers HEAD after abort({terminate: true}): %v %v", resp.Status, err)
		}

		storage, storageOrigin := uploadsElsewhere(t, e)
		var onStorage headerLog
		storage.Inject(onStorage.fault)
		o = within(e, fmt.Sprintf(`(async () => {
			const up = new tus.Upload(makeFile(%d, 2321, 'elsewhere.bin'), {endpoint: '/files/', storage: false, headers: {Authorization: 'Bearer s3cret'}})
			up.start()
			const r = await up.done
			await up.abort({terminate: true})
			return r
		})()`, size), 30000)
		if o.Hang || !o.OK {
			t.Fatalf("abort({terminate: true}) after done, upload on another origin: %+v", o)
		}
		r = o.result(t)
		if !strings.HasPrefix(r.URL, storageOrigin) {
			t.Fatalf("the upload is at %s, not on the storage origin", r.URL)
		}
		if resp, err := http.DefaultClient.Do(headReq(t, r.URL)); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("the upload on another origin still answers HEAD: %v %v", resp.Status, err)
		}
		if seen := onStorage.take(); len(seen) != 0 {
			t.Fatalf("the storage origin received %v", seen)
		}
	})
}

// The Upload driven from inside its own callbacks, and aborted twice at once: an
// onProgress that calls abort({terminate: true}), a hook that awaits pause() and then
// resume()s, two abort({terminate: true}) in one tick with a headers function (the
// second must not fail because the first let the upload object go).
func TestUploadClassFromItsCallbacks(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		const size = 4 * chunk
		o := within(e, fmt.Sprintf(`(async () => {
			let up
			up = new tus.Upload(makeFile(%d, 2330, 'cb1.bin'), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false, storage: false,
				onProgress: (sent) => { if (sent > 0) window.aborted = up.abort({terminate: true}).then(() => 'ok', (e) => e.code ?? e.name) }})
			up.start()
			const done = await up.done.then(() => 'resolved', (e) => e.name)
			return {done, aborted: await window.aborted, url: up.url}
		})()`, size, chunk), 30000)
		var got struct{ Done, Aborted, URL string }
		if o.Hang || !o.OK {
			t.Fatalf("abort({terminate: true}) from onProgress: %+v", o)
		}
		mustJSON(t, o.Value, &got)
		if got.Done != "AbortError" || got.Aborted != "ok" {
			t.Fatalf("abort({terminate: true}) from onProgress: %+v", got)
		}
		if resp, err := http.DefaultClient.Do(headReq(t, got.URL)); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("the upload aborted from onProgress still answers HEAD: %v %v", resp.Status, err)
		}

		o = within(e, fmt.Sprintf(`(async () => {
			let up, paused = false
			up = new tus.Upload(makeFile(%d, 2331, 'cb2.bin'), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false, storage: false,
				onBeforeRequest: async (req) => {
					if (req.method !== 'PATCH' || paused) return
					paused = true
					await up.pause()
					up.resume()
				}})
			up.start()
			return up.done
		})()`, size, chunk), 30000)
		if o.Hang || !o.OK {
			t.Fatalf("a hook that awaits pause() and resumes: %+v", o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 2331))

		h := holdNth(t, e.tusd, http.MethodPatch, 1, true)
		startIn(e, e.tab, fmt.Sprintf(`bg('twice', () => {
			window.up3 = new tus.Upload(makeFile(%d, 2332, 'cb3.bin'), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false,
				storage: false, headers: () => ({'X-Token': 't'})})
			up3.start()
			return up3.done
		})`, size, chunk))
		waitChan(t, "the PATCH", h.arrived)
		o = within(e, `Promise.all([up3.abort({terminate: true}), up3.abort({terminate: true})]).then((a) => a.length, (e) => { throw e })`, 30000)
		if o.Hang || !o.OK {
			t.Errorf("two abort({terminate: true}) in one tick: %+v, want both to resolve", o)
		}
		if d := e.waitDone("twice"); d.OK || d.Name != "AbortError" {
			t.Errorf("done after two aborts: %+v", d)
		}
		if u := eval[string](e, `up3.url`); u != "" {
			if resp, err := http.DefaultClient.Do(headReq(t, u)); err != nil || resp.StatusCode != http.StatusNotFound {
				t.Errorf("the upload aborted twice still answers HEAD: %v %v", resp.Status, err)
			}
		}
	})
}

// A paused Upload the page forgets (a file removed from its list without abort())
// must not keep its upload object for the life of the page: once the Upload is
// garbage, its listener on the caller's AbortSignal (and with it the module's handle,
// its functions and the caller's callbacks) goes. Before f1b295f a paused Upload held
// nothing in the module.
func TestUploadClassForgottenWhilePausedIsReleased(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		const n = 10
		o := within(e, fmt.Sprintf(`(async () => {
			const ctl = new AbortController()
			const sig = ctl.signal
			window.listeners = 0
			const add = sig.addEventListener.bind(sig)
			const remove = sig.removeEventListener.bind(sig)
			sig.addEventListener = (...a) => { window.listeners++; return add(...a) }
			sig.removeEventListener = (...a) => { window.listeners--; return remove(...a) }
			for (let i = 0; i < %d; i++) {
				const up = new tus.Upload(makeFile(%d, 2340 + i), {endpoint: '/files/', storage: false, signal: sig})
				up.start()
				await up.pause()
			}
			return window.listeners
		})()`, n, 2*chunk), 60000)
		if o.Hang || !o.OK {
			t.Fatalf("pausing %d Uploads: %+v", n, o)
		}
		waitFor(t, "the forgotten Uploads' listeners on the signal to go", 20*time.Second, func() bool {
			if _, err := chromedp.Call(e.tab, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
				t.Fatal(err)
			}
			return eval[int](e, `window.listeners`) == 0
		})
	})
}
