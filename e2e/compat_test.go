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

// A tus-js-client program, unchanged but for its import, is interrupted by a reload in
// the middle of the upload; run again, it finds the upload in storage, resumes it with
// no new creation, and the server holds the file's bytes and metadata.
func TestCompatProgramResumesAfterReload(t *testing.T) {
	e := newEnv(t)
	const size = 6 * chunk
	h := holdNth(t, e.tusd, http.MethodPatch, 3, true)
	startIn(e, e.tab, tusJSProgram("a", size, 31, ""))
	waitChan(t, "the third PATCH", h.arrived)
	e.reload(e.tab)
	waitChan(t, "the reload to abort the PATCH", h.aborted)

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
