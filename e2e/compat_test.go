package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// tusJSProgram is the program tus-js-client's README teaches, run unchanged on
// tuswasm/compat in the background job key: resume what findPreviousUploads finds,
// else start anew. Its outcome is {url, previous, progress, chunked}.
func tusJSProgram(key string, size, seed int, extra string) string {
	return fmt.Sprintf(`bg(%[1]q, (s) => import('/js/compat.js').then((tus) => new Promise((resolve, reject) => {
		window.compat = tus
		const file = makeFile(%[2]d, %[3]d, 'c.bin')
		s.chunked = 0
		const upload = new tus.Upload(file, {
			endpoint: '/files/',
			retryDelays: [0, 100, 300],
			chunkSize: %[4]d,
			metadata: { filename: file.name, filetype: file.type },
			onError: (error) => reject(error),
			onProgress: (sent, total) => s.progress.push([sent, total]),
			onChunkComplete: (n, sent, total) => { s.chunked += n },
			onSuccess: (payload) => resolve({ url: upload.url, previous: s.previous, last: s.progress.at(-1), chunked: s.chunked, payload }),
			%[5]s
		})
		window.upload = upload
		upload.findPreviousUploads().then((previous) => {
			s.previous = previous.length
			if (previous.length) upload.resumeFromPreviousUpload(previous[0])
			upload.start()
		}, reject)
	})))`, key, size, seed, chunk, extra)
}

type tusJSResult struct {
	URL      string  `json:"url"`
	Previous int     `json:"previous"`
	Last     []int64 `json:"last"`
	Chunked  int64   `json:"chunked"`
	Payload  struct {
		LastResponse any `json:"lastResponse"`
	} `json:"payload"`
}

func (o outcome) tusJS(t *testing.T) tusJSResult {
	t.Helper()
	if !o.OK {
		t.Fatalf("tus-js-client program failed: %+v", o)
	}
	var r tusJSResult
	mustJSON(t, o.Value, &r)
	return r
}

// interruptTusJSProgram runs tusJSProgram (job "a") and reloads the page while its
// third PATCH is in flight.
func interruptTusJSProgram(e *env, size, seed int) {
	e.t.Helper()
	h := holdNth(e.t, e.tusd, http.MethodPatch, 3, true)
	startIn(e, e.tab, tusJSProgram("a", size, seed, ""))
	waitChan(e.t, "the third PATCH", h.arrived)
	e.reload(e.tab)
	waitChan(e.t, "the reload to abort the PATCH", h.aborted)
}

// A tus-js-client program, unchanged but for its import, is interrupted by a reload in
// the middle of the upload; run again, it finds the upload in storage, resumes it with
// no new creation, and the server holds the file's bytes and metadata.
func TestCompatProgramResumesAfterReload(t *testing.T) {
	e := newEnv(t)
	const size = 6 * chunk
	interruptTusJSProgram(e, size, 31)

	startIn(e, e.tab, tusJSProgram("b", size, 31, ""))
	r := e.waitDone("b").tusJS(t)
	if r.Previous != 1 || e.tusd.Count(http.MethodPost) != 1 {
		t.Fatalf("not resumed: %d previous uploads found, %d POSTs", r.Previous, e.tusd.Count(http.MethodPost))
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 31))
	if extra := e.tusd.BodyBytes.Load() - size; extra > chunk {
		t.Fatalf("%d bytes re-sent", extra)
	}
	if len(r.Last) != 2 || r.Last[0] != size || r.Last[1] != size {
		t.Fatalf("last onProgress %v, want [%d %d]", r.Last, size, size)
	}
	if r.Chunked <= 0 || r.Chunked > size {
		t.Fatalf("onChunkComplete reported %d bytes of %d", r.Chunked, size)
	}
	if r.Payload.LastResponse != nil {
		t.Fatalf("onSuccess payload %+v", r.Payload)
	}
	if md := e.tusd.Metadata(t, r.URL); md["filename"] != "c.bin" || md["filetype"] != "application/octet-stream" {
		t.Fatalf("metadata %v", md)
	}
}

// abort() pauses: no callback runs, and start() continues the same upload. abort(true)
// deletes it on the server and in storage.
func TestCompatAbortThenStart(t *testing.T) {
	e := newEnv(t)
	const size = 5 * chunk
	h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
	startIn(e, e.tab, tusJSProgram("a", size, 32, ""))
	waitChan(t, "the second PATCH", h.arrived)
	eval[any](e, `upload.abort()`)
	waitChan(t, "abort() to abort the PATCH", h.aborted)
	if done := eval[bool](e, `state.a.done`); done {
		t.Fatalf("a callback settled the paused upload: %+v", eval[outcome](e, `state.a.outcome`))
	}
	eval[any](e, `upload.start()`)
	r := e.waitDone("a").tusJS(t)
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs: start() after abort() created a new upload", n)
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 32))

	o := eval[outcome](e, fmt.Sprintf(`run(async () => {
		let failed = null
		const up = new compat.Upload(makeFile(%d, 33), {endpoint: '/files/', chunkSize: %d,
			onError: (err) => { failed = err }})
		const created = new Promise((r) => { up.options.onUploadUrlAvailable = r })
		up.start()
		await created
		await up.abort(true)
		const left = (await tus.listUploads()).length
		return {url: up.url, left, failed: failed && String(failed)}
	})`, size, chunk))
	var got struct {
		URL    string
		Left   int
		Failed *string
	}
	mustJSON(t, o.Value, &got)
	if !o.OK || got.URL == "" || got.Left != 0 || got.Failed != nil {
		t.Fatalf("abort(true): %+v %+v", o, got)
	}
	if resp, err := http.DefaultClient.Do(headReq(t, got.URL)); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("terminated upload still answers HEAD: %v %v", resp.Status, err)
	}
}

// tus-js-client's hooks get its request and response objects, onShouldRetry its
// DetailedError and a 0-based attempt, and errors reach onError with their fields.
func TestCompatHooksAndErrors(t *testing.T) {
	e := newEnv(t)
	const size = 3 * chunk
	var mu sync.Mutex
	var trace, ids int
	e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("X-Trace") == r.Method {
			trace++
		}
		if len(r.Header.Get("X-Request-ID")) == 36 {
			ids++
		}
		return false
	})
	e.tusd.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPatch, 2, 3), http.StatusServiceUnavailable, nil, "busy"))
	startIn(e, e.tab, tusJSProgram("a", size, 34, `addRequestId: true,
		onBeforeRequest: (req) => { req.setHeader('X-Trace', req.getMethod()); s.url = req.getURL() },
		onAfterResponse: (req, res) => { (s.statuses ??= []).push(res.getStatus()) },
		onShouldRetry: (err, attempt, options) => {
			(s.retries ??= []).push([err.originalResponse?.getStatus(), attempt, options.chunkSize])
			return true
		},`))
	r := e.waitDone("a").tusJS(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 34))
	retries := eval[[][]int](e, `state.a.retries`)
	if fmt.Sprint(retries) != fmt.Sprint([][]int{{503, 0, chunk}, {503, 1, chunk}}) {
		t.Fatalf("onShouldRetry saw %v", retries)
	}
	n := len(e.tusd.Requests())
	mu.Lock()
	if trace != n || ids != n {
		t.Errorf("%d requests, %d with onBeforeRequest's header, %d with a request ID", n, trace, ids)
	}
	mu.Unlock()
	if s := eval[[]int](e, `state.a.statuses`); len(s) != n || s[len(s)-1] != http.StatusNoContent {
		t.Errorf("onAfterResponse saw %v for %d requests", s, n)
	}

	// An option tuswasm cannot take, and a refused creation, reach onError as
	// DetailedErrors with tus-js-client's fields.
	e.tusd.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPost, 1), http.StatusForbidden, nil, "no"))
	o := eval[outcome](e, `run(async () => {
		const fail = (options) => new Promise((resolve) => {
			const up = new compat.Upload(makeFile(10, 35), {endpoint: '/files/', ...options,
				onError: (err) => resolve({detailed: err instanceof compat.DetailedError, code: err.code,
					status: err.originalResponse?.getStatus() ?? null}),
				onSuccess: () => resolve('success')})
			up.start()
		})
		return [await fail({httpStack: {}}), await fail({retryDelays: null})]
	})`)
	var got []struct {
		Detailed bool
		Code     string
		Status   *int
	}
	mustJSON(t, o.Value, &got)
	if !o.OK || len(got) != 2 || !got[0].Detailed || got[0].Code != "INVALID_OPTION" || !got[1].Detailed || got[1].Status == nil || *got[1].Status != http.StatusForbidden {
		t.Fatalf("errors: %+v %s", o, o.Value)
	}
}

// compatRun runs body (statements ending in a return) in the page with compat bound to
// tuswasm/compat.
func compatRun(e *env, body string) outcome {
	e.t.Helper()
	return eval[outcome](e, `run(async () => { const compat = await import('/js/compat.js'); `+body+` })`)
}

// HttpResponse.getHeader finds a header whatever the case of its name, as
// tus-js-client's (XMLHttpRequest's getResponseHeader) does: the module's names are
// Go's canonical ones (X-Request-Id), not the case a program writes (X-Request-ID).
func TestCompatResponseHeaderAnyCase(t *testing.T) {
	e := newEnv(t)
	e.tusd.Inject(tusdtest.Rewrite(func(r *http.Request) bool { return r.Method == http.MethodPost }, func(_ *int, h http.Header) {
		h["X-Request-ID"] = []string{"rid-1"}
	}))
	o := compatRun(e, `
		const seen = {}
		await new Promise((resolve, reject) => new compat.Upload(makeFile(1000, 36), {endpoint: '/files/',
			onAfterResponse: (req, res) => {
				if (req.getMethod() !== 'POST') return
				for (const k of ['Location', 'location', 'Tus-Resumable', 'tus-resumable', 'X-Request-ID', 'x-request-id'])
					seen[k] = res.getHeader(k) ?? null
			},
			onSuccess: resolve, onError: reject}).start())
		return seen`)
	var seen map[string]*string
	mustJSON(t, o.Value, &seen)
	if !o.OK || len(seen) != 6 {
		t.Fatalf("%+v", o)
	}
	for k, v := range seen {
		if v == nil || *v == "" {
			t.Errorf("res.getHeader(%q) = null in %s", k, o.Value)
		}
	}
}

// A program that retries by itself, calling start() from onError, gets its upload
// started again (tus-js-client's start() begins anew after an error); it must not be
// taken for a resume of the upload that just ended.
func TestCompatStartFromOnError(t *testing.T) {
	e := newEnv(t)
	e.tusd.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPost, 1), http.StatusForbidden, nil, "no"))
	startFromOnError(t, e, 37)
}

// onShouldRetry is asked only while retryDelays has a delay left, as tus-js-client
// asks it: once (attempt 0) with one delay, never with none; the failure then reaches
// onError.
func TestCompatOnShouldRetryOnlyWhileDelaysLeft(t *testing.T) {
	e := newEnv(t)
	e.tusd.Inject(tusdtest.Respond(func(r *http.Request) bool { return r.Method == http.MethodPatch }, http.StatusServiceUnavailable, nil, "busy"))
	o := compatRun(e, `
		const one = async (retryDelays) => {
			const asked = []
			const { value: status } = await within(new Promise((resolve) => new compat.Upload(makeFile(1000, 38), {endpoint: '/files/', retryDelays,
				onShouldRetry: (err, attempt) => { asked.push(attempt); return true },
				onError: (err) => resolve(err.originalResponse?.getStatus() ?? null),
				onSuccess: () => resolve('success')}).start()), 10000)
			return {asked, status}
		}
		return [await one([0]), await one(null), await one([])]`)
	if !o.OK || string(o.Value) != `[{"asked":[0],"status":503},{"asked":[],"status":503},{"asked":[],"status":503}]` {
		t.Fatalf("onShouldRetry calls and outcomes: %+v %s", o, o.Value)
	}
}

// Upload.terminate(url, {addRequestId: true}) sends an X-Request-ID, as
// tus-js-client's terminate does.
func TestCompatTerminateAddsRequestID(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var ids []string
	e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method == http.MethodDelete {
			mu.Lock()
			ids = append(ids, r.Header.Get("X-Request-ID"))
			mu.Unlock()
		}
		return false
	})
	o := compatRun(e, `
		const url = await tus.create(makeFile(1000, 39), {endpoint: '/files/'})
		await compat.Upload.terminate(url, {addRequestId: true})
		return url`)
	mu.Lock()
	defer mu.Unlock()
	if !o.OK || len(ids) != 1 || len(ids[0]) != 36 {
		t.Fatalf("terminate: %+v, X-Request-ID of the DELETEs: %q", o, ids)
	}
}

// After a reload, the resumed upload's onChunkComplete reports only the bytes this run
// sent, as tus-js-client's does (its first chunk counts from the HEAD's offset): the
// offset found is no chunk.
func TestCompatChunkCompleteAfterResume(t *testing.T) {
	e := newEnv(t)
	const size = 6 * chunk
	interruptTusJSProgram(e, size, 40)
	before := e.tusd.BodyBytes.Load()
	startIn(e, e.tab, tusJSProgram("b", size, 40, ""))
	r := e.waitDone("b").tusJS(t)
	if sent := e.tusd.BodyBytes.Load() - before; r.Previous != 1 || r.Chunked > sent {
		t.Fatalf("onChunkComplete reported %d bytes; this run sent %d of %d", r.Chunked, sent, size)
	}
}

// tus-js-client's retry pattern, start() again from onError, after a small file's
// upload was created and its PATCH failed: tus-js-client continues the upload it
// knows (this.url), and so must compat, also for a small file sent whole, which no
// storage remembers: one creation, nothing left on the server.
func TestCompatStartFromOnErrorSmallFile(t *testing.T) {
	e := newEnv(t)
	e.tusd.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPatch, 1), http.StatusInternalServerError, nil, "no"))
	startFromOnError(t, e, 164)
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d creations: start() after the failure left the first upload behind", n)
	}
}

// findPreviousUploads lists a small file's stored upload (here one create() made);
// resumeFromPreviousUpload then start() must continue it (its origin is the
// endpoint's), and its entry must go once the file is uploaded.
func TestCompatResumeFromPreviousSmallUpload(t *testing.T) {
	e := newEnv(t)
	o := compatRun(e, fmt.Sprintf(`
		const file = makeFile(3000, 165, 'c.bin')
		const created = await tus.create(file, {endpoint: '/files/'})
		const up = new compat.Upload(file, {endpoint: '/files/', retryDelays: null})
		const previous = await up.findPreviousUploads()
		if (previous.length) up.resumeFromPreviousUpload(previous[0])
		const w = await within(new Promise((resolve, reject) => { up.options.onSuccess = resolve; up.options.onError = reject; up.start() }), 10000)
		const left = (await tus.listUploads()).length
		return {created, url: up.url, previous: previous.length, left, ok: w.ok}`))
	var got struct {
		Created, URL   string
		Previous, Left int
		OK             bool
	}
	if mustJSON(t, o.Value, &got); !o.OK || !got.OK || got.Previous != 1 {
		t.Fatalf("%+v %+v", o, got)
	}
	e.tusd.AssertStored(t, got.URL, pattern(3000, 165))
	if got.URL != got.Created || got.Left != 0 {
		t.Fatalf("resumed %s (created %s), %d entries left: the previous upload was not continued", got.URL, got.Created, got.Left)
	}
}

// abort() then start() of a small file sent whole, paused in its one PATCH after the
// creation: the same tuswasm Upload continues the upload it created (one creation),
// nothing stored while paused, nothing left once complete.
func TestCompatAbortThenStartSmallFile(t *testing.T) {
	e := newEnv(t)
	const size = 200 << 10 // under chunk: sent whole
	h := holdNth(t, e.tusd, http.MethodPatch, 1, true)
	startIn(e, e.tab, tusJSProgram("a", size, 167, ""))
	waitChan(t, "the PATCH", h.arrived)
	eval[any](e, `upload.abort()`)
	waitChan(t, "abort() to abort the PATCH", h.aborted)
	if n := eval[int](e, `tus.listUploads().then((l) => l.length)`); n != 0 {
		t.Fatalf("%d stored entries for a file sent whole", n)
	}
	eval[any](e, `upload.start()`)
	r := e.waitDone("a").tusJS(t)
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs: start() after abort() created a new upload", n)
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 167))
	if n := eval[int](e, `tus.listUploads().then((l) => l.length)`); n != 0 {
		t.Fatalf("%d stored entries left after completion", n)
	}
}

// startFromOnError runs a compat upload of 3000 bytes of pattern seed whose onError
// calls start() once, and checks it then succeeds, byte-exact.
func startFromOnError(t *testing.T, e *env, seed uint32) {
	t.Helper()
	o := compatRun(e, fmt.Sprintf(`
		let errors = 0
		const up = new compat.Upload(makeFile(3000, %d), {endpoint: '/files/', retryDelays: null,
			onError: () => { if (++errors === 1) up.start() }})
		const w = await within(new Promise((resolve) => { up.options.onSuccess = resolve; up.start() }), 10000)
		return {url: up.url, errors, ok: w.ok}`, seed))
	var got struct {
		URL    string
		Errors int
		OK     bool
	}
	if mustJSON(t, o.Value, &got); !o.OK || !got.OK || got.Errors != 1 {
		t.Fatalf("start() in onError: %+v", o)
	}
	e.tusd.AssertStored(t, got.URL, pattern(3000, seed))
}
