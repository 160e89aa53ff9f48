package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// The same small file started twice at once with useFileLock and waitForLock: sent
// whole, neither call takes the lock, so both upload it (two uploads, each
// byte-exact); nothing is mixed.
func TestSmallFileTwiceWithFileLock(t *testing.T) {
	e := newEnv(t)
	o := eval[outcome](e, `run(async () => {
		const file = makeFile(300000, 163)
		const opts = {endpoint: '/files/', useFileLock: true, waitForLock: true}
		const [a, b] = await Promise.all([tus.createAndUpload(file, opts), tus.createAndUpload(file, opts)])
		return [a.url, b.url]
	})`)
	var urls []string
	if mustJSON(t, o.Value, &urls); !o.OK || len(urls) != 2 || urls[0] == urls[1] {
		t.Fatalf("%+v", o)
	}
	for _, u := range urls {
		e.tusd.AssertStored(t, u, pattern(300000, 163))
	}
}

// tus-js-client's retry pattern, start() again from onError, after a small file's
// upload was created and its PATCH failed: tus-js-client continues the upload it
// knows (this.url). tuswasm/compat makes a new Upload, which found the failed one in
// storage; a file sent whole is not stored, so a second upload is created and the
// first is left on the server, unfinished.
func TestCompatStartFromOnErrorSmallFile(t *testing.T) {
	t.Skip("defect since 12218be, not fixed: a small file sent whole is not stored, and a retry (a new Upload) relies on storage to continue the failed upload; see the audit-small report")
	e := newEnv(t)
	e.tusd.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPatch, 1), http.StatusInternalServerError, nil, "no"))
	o := compatRun(e, `
		let errors = 0
		const up = new compat.Upload(makeFile(3000, 164), {endpoint: '/files/', retryDelays: null,
			onError: () => { if (++errors === 1) up.start() }})
		const w = await within(new Promise((resolve) => { up.options.onSuccess = resolve; up.start() }), 10000)
		return {url: up.url, errors, ok: w.ok}`)
	var got struct {
		URL    string
		Errors int
		OK     bool
	}
	if mustJSON(t, o.Value, &got); !o.OK || !got.OK || got.Errors != 1 {
		t.Fatalf("start() in onError: %+v", o)
	}
	e.tusd.AssertStored(t, got.URL, pattern(3000, 164))
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d creations: start() after the failure left the first upload behind", n)
	}
}

// findPreviousUploads lists a small file's stored upload (here one create() made);
// resumeFromPreviousUpload then start() must continue it, and its entry must go once
// the file is uploaded. Sent whole, the run neither looks at storage nor removes it.
func TestCompatResumeFromPreviousSmallUpload(t *testing.T) {
	t.Skip("defect since 12218be, not fixed: a small file sent whole is not stored, and the run neither looks up the entry findPreviousUploads listed nor removes it; see the audit-small report")
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

// Uppy's retry of a small file whose upload was created and then failed: the retry
// is a new tus-js-client-shaped Upload, which continued the failed upload from
// storage; a file sent whole is not stored, so the retry creates a second upload and
// the first stays on the server, unfinished (removing the file later deletes only the
// second).
func TestUppySmallFileRetryContinues(t *testing.T) {
	t.Skip("defect since 12218be, not fixed: a small file sent whole is not stored, and a retry (a new Upload) relies on storage to continue the failed upload; see the audit-small report")
	e := uppyEnv(t, "")
	const size = 3000
	paths := uppyFiles(t, 366, size)
	e.tusd.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPatch, 1, 2, 3, 4), http.StatusServiceUnavailable, nil, "busy"))
	e.addThroughDashboard(1, paths[0])
	e.clickUpload()
	eval[bool](e, `waitFor(() => events.some((ev) => ev[0] === 'upload-error'))`)
	eval[any](e, `events.length = 0, uppy.retryUpload(uppy.getFiles()[0].id)`)
	urls := e.uppySucceeded(1)
	e.tusd.AssertStored(t, urls["u0.bin"], pattern(size, 366))
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs: the retry created the upload anew, the failed one is left on the server", n)
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
