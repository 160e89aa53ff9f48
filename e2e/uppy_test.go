package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// Uppy's Dashboard on tuswasm's uploader (tuswasm/uppy), in the Vite app built from the
// packed package with @uppy/core and @uppy/dashboard from npm (e2e/testdata/viteapp).

// uppyEnv opens the app's Uppy page (query: its options, as uppy.js reads them).
func uppyEnv(t *testing.T, query string) *env {
	t.Helper()
	return newEnvServing(t, viteHandler(t), "/uppy.html?chunk="+fmt.Sprint(chunk)+query)
}

// uppyFiles writes files of the given sizes (pattern(size, seed+i)) and returns their
// paths, named u0.bin, u1.bin, …
func uppyFiles(t *testing.T, seed int, sizes ...int) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, n := range sizes {
		p := filepath.Join(dir, fmt.Sprintf("u%d.bin", i))
		if err := writeFile(p, pattern(n, uint32(seed+i))); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// addThroughDashboard gives the Dashboard's file input the paths and waits for Uppy to
// hold n files.
func (e *env) addThroughDashboard(n int, paths ...string) {
	e.t.Helper()
	setFiles(e.t, e.tab, `.uppy-Dashboard-input[name="files[]"]:not([webkitdirectory])`, paths...)
	eval[bool](e, fmt.Sprintf(`waitFor(() => uppy.getFiles().length === %d)`, n))
}

// clickUpload presses the status bar's upload button, as a user does.
func (e *env) clickUpload() {
	e.t.Helper()
	eval[bool](e, `waitFor(() => document.querySelector('.uppy-StatusBar-actionBtn--upload')).then((b) => { b.click(); return true })`)
}

// uppySucceeded waits for n upload-success events and returns the upload URL of each
// file name.
func (e *env) uppySucceeded(n int) map[string]string {
	e.t.Helper()
	var got [][]string
	mustJSON(e.t, evalJSON(e, fmt.Sprintf(`waitFor(() => {
		const ok = events.filter((ev) => ev[0] === 'upload-success')
		const failed = events.find((ev) => ev[0] === 'upload-error')
		if (failed) throw new Error('upload-error: ' + JSON.stringify(failed) + ' ' + logged.join('; '))
		return ok.length >= %d && JSON.stringify(ok.map((ev) => [ev[1], ev[2]]))
	}, 120000)`, n)), &got)
	urls := map[string]string{}
	for _, ev := range got {
		urls[ev[0]] = ev[1]
	}
	return urls
}

// evalJSON is the JSON text js evaluates to.
func evalJSON(e *env, js string) json.RawMessage {
	e.t.Helper()
	return json.RawMessage(eval[string](e, js))
}

// Several files added through the Dashboard, paused all while a PATCH is in flight and
// resumed all: each is stored byte-exact, created once, with progress to its size.
func TestUppyDashboardPauseAllResumeAll(t *testing.T) {
	e := uppyEnv(t, "")
	sizes := []int{3*chunk + 1, 4 * chunk, 2*chunk - 5}
	paths := uppyFiles(t, 300, sizes...)
	h := holdNth(t, e.tusd, http.MethodPatch, 3, true)
	e.addThroughDashboard(len(paths), paths...)
	e.clickUpload()
	waitChan(t, "the third PATCH", h.arrived)
	eval[any](e, `uppy.pauseAll()`)
	waitChan(t, "pause-all to abort the PATCH", h.aborted)
	if n := eval[int](e, `events.filter((ev) => ev[0] === 'complete').length`); n != 0 {
		t.Fatalf("Uppy completed while paused")
	}
	eval[any](e, `uppy.resumeAll()`)
	urls := e.uppySucceeded(len(sizes))
	for i, n := range sizes {
		e.tusd.AssertStored(t, urls[fmt.Sprintf("u%d.bin", i)], pattern(n, uint32(300+i)))
	}
	if n := e.tusd.Count(http.MethodPost); n != len(sizes) {
		t.Fatalf("%d POSTs for %d files: resume-all created anew", n, len(sizes))
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	if extra := e.tusd.BodyBytes.Load() - int64(total); extra > chunk {
		t.Fatalf("%d bytes re-sent", extra)
	}
	var last map[string]int
	mustJSON(t, evalJSON(e, `JSON.stringify(Object.fromEntries(events.filter((ev) => ev[0] === 'upload-progress').map((ev) => [ev[1], ev[2]])))`), &last)
	for i, n := range sizes {
		if got := last[fmt.Sprintf("u%d.bin", i)]; got != n {
			t.Errorf("u%d.bin: last upload-progress %d, want %d", i, got, n)
		}
	}
	if p := eval[int](e, `waitFor(() => uppy.getState().totalProgress === 100 && 100)`); p != 100 {
		t.Errorf("total progress %d", p)
	}
}

// Removing a file while it uploads deletes the server's upload; the others go on.
func TestUppyRemoveFileTerminates(t *testing.T) {
	e := uppyEnv(t, "")
	paths := uppyFiles(t, 310, 4*chunk)
	h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
	e.addThroughDashboard(1, paths...)
	e.clickUpload()
	waitChan(t, "the second PATCH", h.arrived)
	eval[any](e, `uppy.removeFile(uppy.getFiles()[0].id)`)
	waitChan(t, "the removal to abort the PATCH", h.aborted)
	waitFor(t, "a DELETE after the file was removed", 30*time.Second, func() bool { return e.tusd.Count(http.MethodDelete) != 0 })
	for _, r := range e.tusd.Requests() {
		if r.Method == http.MethodDelete {
			if resp, err := http.DefaultClient.Do(headReq(t, e.origin+r.Path)); err != nil || resp.StatusCode != http.StatusNotFound {
				t.Fatalf("removed file's upload still answers HEAD: %v %v", resp.Status, err)
			}
		}
	}
	if n := eval[int](e, `events.filter((ev) => ev[0] === 'upload-success' || ev[0] === 'upload-error').length`); n != 0 {
		t.Fatalf("a removed file reported its end: %v", eval[any](e, `events`))
	}
}

// A refused creation is an upload-error with the status; Uppy's retry then uploads it.
func TestUppyErrorThenRetry(t *testing.T) {
	e := uppyEnv(t, "")
	paths := uppyFiles(t, 320, 2*chunk+3)
	e.tusd.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPost, 1), http.StatusForbidden, nil, "not now"))
	e.addThroughDashboard(1, paths...)
	e.clickUpload()
	var failed []any
	mustJSON(t, evalJSON(e, `waitFor(() => JSON.stringify(events.find((ev) => ev[0] === 'upload-error')))`), &failed)
	if fmt.Sprint(failed) != "[upload-error u0.bin HTTP 403]" {
		t.Fatalf("upload-error event %v", failed)
	}
	eval[any](e, `events.length = 0, uppy.retryUpload(uppy.getFiles()[0].id)`)
	urls := e.uppySucceeded(1)
	e.tusd.AssertStored(t, urls["u0.bin"], pattern(2*chunk+3, 320))
}

// The page reloads mid-upload; the user adds the same file again (Uppy forgot it) and
// the upload continues from tuswasm's storage: no second creation, byte-exact. In
// worker mode, as the module then runs off the page.
func TestUppyReloadThenResume(t *testing.T) {
	e := uppyEnv(t, "&worker")
	const size = 6 * chunk
	paths := uppyFiles(t, 330, size)
	h := holdNth(t, e.tusd, http.MethodPatch, 3, true)
	e.addThroughDashboard(1, paths...)
	e.clickUpload()
	waitChan(t, "the third PATCH", h.arrived)
	e.reload(e.tab)
	waitChan(t, "the reload to abort the PATCH", h.aborted)
	e.addThroughDashboard(1, paths...)
	e.clickUpload()
	urls := e.uppySucceeded(1)
	e.tusd.AssertStored(t, urls["u0.bin"], pattern(size, 330))
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs: the reloaded page created the upload anew", n)
	}
	if extra := e.tusd.BodyBytes.Load() - size; extra > chunk {
		t.Fatalf("%d bytes re-sent", extra)
	}
}

// uppyEvents is the page's events of the given name, as [file name, …] rows.
func (e *env) uppyEvents(name string) [][]any {
	e.t.Helper()
	var got [][]any
	mustJSON(e.t, evalJSON(e, fmt.Sprintf(`JSON.stringify(events.filter((ev) => ev[0] === %q).map((ev) => ev.slice(1)))`, name)), &got)
	return got
}

// A file whose own file.tus options tuswasm refuses fails alone: with limit 1 the next
// file still gets the slot and uploads.
func TestUppyBadPerFileOptionFailsAlone(t *testing.T) {
	e := uppyEnv(t, "&limit=1")
	paths := uppyFiles(t, 340, chunk+1, chunk+2)
	e.addThroughDashboard(len(paths), paths...)
	eval[any](e, `uppy.setFileState(uppy.getFiles().find((f) => f.name === 'u0.bin').id, { tus: { protocol: 'ietf-draft-03' } }), uppy.upload().catch(() => {}), true`)
	var got []any
	mustJSON(t, evalJSON(e, `waitFor(() => {
		const err = events.find((ev) => ev[0] === 'upload-error')
		const ok = events.find((ev) => ev[0] === 'upload-success')
		return err && ok && JSON.stringify([err[1], err[2], ok[1]])
	}, 15000)`), &got)
	if fmt.Sprint(got) != "[u0.bin INVALID_OPTION u1.bin]" {
		t.Fatalf("events %v", got)
	}
}

// A file removed as its upload starts (in upload-start, before the module is ready) is
// never sent; the other file is.
func TestUppyFileRemovedAtUploadStartIsNotSent(t *testing.T) {
	e := uppyEnv(t, "")
	paths := uppyFiles(t, 350, chunk/2, 4*chunk)
	e.addThroughDashboard(len(paths), paths...)
	eval[any](e, `uppy.once('upload-start', (fs) => uppy.removeFile(fs.find((f) => f.name === 'u0.bin').id)), uppy.upload().catch(() => {}), true`)
	urls := e.uppySucceeded(1)
	e.tusd.AssertStored(t, urls["u1.bin"], pattern(4*chunk, 351))
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs: the removed file was uploaded", n)
	}
	if got := e.uppyEvents("upload-success"); len(got) != 1 {
		t.Fatalf("upload-success events %v", got)
	}
}

// resumeAll while a file sends (nothing paused) must not let a queued file past the
// limit: with limit 1 the files still finish one after another, in order.
func TestUppyResumeAllKeepsLimit(t *testing.T) {
	e := uppyEnv(t, "&limit=1")
	paths := uppyFiles(t, 360, 3*chunk, 2*chunk, 2*chunk)
	h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
	e.addThroughDashboard(len(paths), paths...)
	e.clickUpload()
	waitChan(t, "the second PATCH", h.arrived)
	eval[any](e, `uppy.resumeAll()`)
	h.Release()
	e.uppySucceeded(3)
	if got := fmt.Sprint(e.uppyEvents("upload-success")); !regexpMatch(`^\[\[u0.bin \S+\] \[u1.bin \S+\] \[u2.bin \S+\]\]$`, got) {
		t.Fatalf("with limit 1, files ended out of order (ran at once): %v", got)
	}
}

// Removing the uploader mid-upload stops the file, which Uppy must not count as
// uploaded; installed again, uppy.upload() continues it (no second creation).
func TestUppyUninstallMidUploadThenUploadAgain(t *testing.T) {
	e := uppyEnv(t, "")
	const size = 4 * chunk
	paths := uppyFiles(t, 370, size)
	h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
	e.addThroughDashboard(1, paths...)
	e.clickUpload()
	waitChan(t, "the second PATCH", h.arrived)
	eval[any](e, `uppy.removePlugin(uppy.getPlugin('TusWasm')), true`)
	waitChan(t, "uninstall to abort the PATCH", h.aborted)
	var complete []any
	mustJSON(t, evalJSON(e, `waitFor(() => JSON.stringify(events.find((ev) => ev[0] === 'complete')), 15000)`), &complete)
	if fmt.Sprint(complete) != "[complete 0 1]" {
		t.Fatalf("after uninstall mid-upload, complete (successful, failed) = %v: an unfinished file counted as uploaded", complete)
	}
	eval[any](e, `events.length = 0, uppy.use(TusWasm, tusOptions), uppy.upload().catch(() => {}), true`)
	urls := e.uppySucceeded(1)
	e.tusd.AssertStored(t, urls["u0.bin"], pattern(size, 370))
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs: uploading again created anew", n)
	}
}

// With limit 1: a queued file paused and resumed waits its turn again; cancel-all then
// removes the rest, deleting only the upload that had started; a file added later still
// gets the slot.
func TestUppyQueuedPauseResumeThenCancelAll(t *testing.T) {
	e := uppyEnv(t, "&limit=1")
	paths := uppyFiles(t, 380, 2*chunk, chunk, chunk)
	h := holdNth(t, e.tusd, http.MethodPatch, 1, false)
	e.addThroughDashboard(len(paths), paths...)
	e.clickUpload()
	waitChan(t, "the first PATCH", h.arrived)
	id := `uppy.getFiles().find((f) => f.name === 'u1.bin').id`
	if !eval[bool](e, `uppy.pauseResume(`+id+`) === true && uppy.pauseResume(`+id+`) === false`) {
		t.Fatal("pauseResume did not toggle")
	}
	h.Release()
	urls := e.uppySucceeded(3)
	for i, n := range []int{2 * chunk, chunk, chunk} {
		e.tusd.AssertStored(t, urls[fmt.Sprintf("u%d.bin", i)], pattern(n, uint32(380+i)))
	}
	if got := fmt.Sprint(e.uppyEvents("upload-success")); !regexpMatch(`^\[\[u0.bin \S+\] \[u2.bin \S+\] \[u1.bin \S+\]\]$`, got) {
		t.Errorf("the resumed queued file did not wait its turn again: %v", got)
	}

	// cancel-all with one sending and two queued.
	more := uppyFiles(t, 390, 3*chunk, chunk, chunk)
	h2 := holdNth(t, e.tusd, http.MethodPatch, 2, true)
	eval[any](e, `events.length = 0, uppy.cancelAll(), true`)
	e.addThroughDashboard(len(more), more...)
	e.clickUpload()
	waitChan(t, "the held PATCH", h2.arrived)
	eval[any](e, `uppy.cancelAll(), true`)
	waitChan(t, "cancel-all to abort the PATCH", h2.aborted)
	waitFor(t, "a DELETE after cancel-all", 15*time.Second, func() bool { return e.tusd.Count(http.MethodDelete) != 0 })
	last := uppyFiles(t, 400, chunk)
	e.addThroughDashboard(1, last...)
	e.clickUpload()
	urls = e.uppySucceeded(1)
	e.tusd.AssertStored(t, urls["u0.bin"], pattern(chunk, 400))
	if n := e.tusd.Count(http.MethodPost); n != 5 {
		t.Errorf("%d POSTs, want 5: queued files were created after cancel-all", n)
	}
	if n := e.tusd.Count(http.MethodDelete); n != 1 {
		t.Errorf("%d DELETEs, want 1", n)
	}
}

// limit given as undefined counts as absent (the package's rule): @uppy/tus's 20.
func TestUppyUndefinedOptionKeepsDefault(t *testing.T) {
	e := uppyEnv(t, "")
	if got := eval[string](e, `uppy.use(TusWasm, { id: 'Other', endpoint: '/files/', limit: undefined, retryDelays: undefined }), JSON.stringify([uppy.getPlugin('Other').opts.limit, uppy.getPlugin('Other').opts.retryDelays])`); got != "[20,[100,1000,3000,5000]]" {
		t.Fatalf("limit, retryDelays given as undefined: %s", got)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// Two identical files (name, content, date) from different folders upload at once as
// two uploads, each stored whole.
func TestUppySameFileFromTwoFolders(t *testing.T) {
	e := uppyEnv(t, "")
	const size = 2*chunk + 7
	var got []string
	mustJSON(t, evalJSON(e, fmt.Sprintf(`(async () => {
		const bytes = new Uint8Array(%d).map((_, i) => (i * 7 + 3) & 255)
		for (const dir of ['a', 'b']) {
			const f = new File([bytes], 'same.bin', { lastModified: 1700000000000 })
			uppy.addFile({ name: 'same.bin', data: f, meta: { relativePath: dir + '/same.bin' } })
		}
		await uppy.upload()
		return JSON.stringify(events.filter((ev) => ev[0] === 'upload-success').map((ev) => ev[2]))
	})()`, size)), &got)
	if len(got) != 2 || got[0] == got[1] {
		t.Fatalf("upload URLs %v: want two distinct", got)
	}
	want := make([]byte, size)
	for i := range want {
		want[i] = byte(i*7 + 3)
	}
	for _, u := range got {
		e.tusd.AssertStored(t, u, want)
	}
	if n := e.tusd.Count(http.MethodPost); n != 2 {
		t.Fatalf("%d POSTs for two files", n)
	}
}

// A headers function that throws fails its file with upload-error; with limit 1 the
// next file still uploads.
func TestUppyHeadersFunctionThrowsFailsAlone(t *testing.T) {
	e := uppyEnv(t, "&limit=1")
	paths := uppyFiles(t, 410, chunk+1, chunk+2)
	e.addThroughDashboard(len(paths), paths...)
	eval[any](e, `uppy.setFileState(uppy.getFiles().find((f) => f.name === 'u0.bin').id, { tus: { headers: () => { throw new Error('no headers') } } }), uppy.upload().catch(() => {}), true`)
	var got []any
	mustJSON(t, evalJSON(e, `waitFor(() => {
		const err = events.find((ev) => ev[0] === 'upload-error')
		const ok = events.find((ev) => ev[0] === 'upload-success')
		const done = events.find((ev) => ev[0] === 'complete')
		return err && ok && done && JSON.stringify([err[1], ok[1], done[1], done[2]])
	}, 15000)`), &got)
	if fmt.Sprint(got) != "[u0.bin u1.bin 1 1]" {
		t.Fatalf("events %v", got)
	}
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs", n)
	}
}

// A file whose upload failed after its creation: retried, it continues the same upload
// (one creation); removed instead, its server upload is deleted, as for a file in
// progress.
func TestUppyFailedUploadRetriedOrRemoved(t *testing.T) {
	e := uppyEnv(t, "")
	const size = 3 * chunk
	paths := uppyFiles(t, 360, size, size)
	// The second PATCH of each file fails for longer than retryDelays [0, 100, 300] last.
	e.tusd.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPatch, 2, 3, 4, 5), http.StatusServiceUnavailable, nil, "busy"))
	e.addThroughDashboard(1, paths[0])
	e.clickUpload()
	eval[bool](e, `waitFor(() => events.some((ev) => ev[0] === 'upload-error'))`)
	eval[any](e, `events.length = 0, uppy.retryUpload(uppy.getFiles()[0].id)`)
	urls := e.uppySucceeded(1)
	e.tusd.AssertStored(t, urls["u0.bin"], pattern(size, 360))
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs: the retry created the upload anew", n)
	}

	e.tusd.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPatch, 2, 3, 4, 5), http.StatusServiceUnavailable, nil, "busy"))
	eval[any](e, `uppy.cancelAll()`)
	e.addThroughDashboard(1, paths[1])
	eval[any](e, `events.length = 0, uppy.upload()`)
	eval[bool](e, `waitFor(() => events.some((ev) => ev[0] === 'upload-error'))`)
	before := e.tusd.Count(http.MethodDelete)
	eval[any](e, `uppy.removeFile(uppy.getFiles()[0].id)`)
	waitFor(t, "a DELETE after the failed file was removed", 30*time.Second, func() bool { return e.tusd.Count(http.MethodDelete) != before })
}

// uppyFailPatches makes every PATCH (and, with head, every HEAD) answer 503 while the
// returned switch is on, so that an upload created by its POST then fails.
func uppyFailPatches(e *env, head bool) *atomic.Bool {
	var on atomic.Bool
	e.tusd.Inject(tusdtest.Respond(func(r *http.Request) bool {
		return on.Load() && (r.Method == http.MethodPatch || (head && r.Method == http.MethodHead))
	}, http.StatusServiceUnavailable, nil, "busy"))
	on.Store(true)
	return &on
}

// uppyWatch records the page's unhandled rejections and errors, and counts the
// 'file-removed' listeners added through uppy.on (window.removedListeners()).
func (e *env) uppyWatch() {
	e.t.Helper()
	eval[any](e, `(() => {
		window.rejections = []
		addEventListener('unhandledrejection', (ev) => rejections.push('rejection: ' + String(ev.reason)))
		addEventListener('error', (ev) => rejections.push('error: ' + String(ev.message)))
		const set = new Set()
		const on = uppy.on.bind(uppy)
		const off = uppy.off.bind(uppy)
		uppy.on = (n, f) => { if (n === 'file-removed') set.add(f); return on(n, f) }
		uppy.off = (n, f) => { if (n === 'file-removed') set.delete(f); return off(n, f) }
		window.removedListeners = () => set.size
		return true
	})()`)
}

// uppyErrors waits for n upload-error events in all.
func (e *env) uppyErrors(n int) {
	e.t.Helper()
	eval[bool](e, fmt.Sprintf(`waitFor(() => events.filter((ev) => ev[0] === 'upload-error').length >= %d, 20000)`, n))
}

// uppyNoRejections fails the test on an unhandled rejection or error in the page.
func (e *env) uppyNoRejections() {
	e.t.Helper()
	if got := eval[string](e, `JSON.stringify(rejections)`); got != "[]" {
		e.t.Fatalf("page: %s", got)
	}
}

// uppyThenUploadOne uploads one more file to completion, so that whatever the steps
// before it sent has reached the server.
func (e *env) uppyThenUploadOne(n int, seed int) {
	e.t.Helper()
	p := uppyFiles(e.t, seed, chunk+3)
	eval[any](e, `events.length = 0`)
	e.addThroughDashboard(n, p...)
	eval[any](e, `uppy.upload().catch(() => {}), true`)
	e.uppySucceeded(1)
}

// Failed, retried, failed again, then removed: one DELETE, no page error.
func TestUppyFailRetryFailRemoveDeletesOnce(t *testing.T) {
	e := uppyEnv(t, "")
	e.uppyWatch()
	fail := uppyFailPatches(e, false)
	e.addThroughDashboard(1, uppyFiles(t, 500, 2*chunk)...)
	eval[any](e, `uppy.upload().catch(() => {}), true`)
	e.uppyErrors(1)
	eval[any](e, `events.length = 0, uppy.retryUpload(uppy.getFiles()[0].id).catch(() => {}), true`)
	e.uppyErrors(1)
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs", n)
	}
	eval[any](e, `uppy.removeFile(uppy.getFiles()[0].id), true`)
	waitFor(t, "a DELETE", 15*time.Second, func() bool { return e.tusd.Count(http.MethodDelete) != 0 })
	eval[any](e, `uppy.cancelAll(), true`)
	fail.Store(false)
	e.uppyThenUploadOne(1, 501)
	if n := e.tusd.Count(http.MethodDelete); n != 1 {
		t.Fatalf("%d DELETEs", n)
	}
	e.uppyNoRejections()
}

// A retry whose HEAD fails (it never learns the URL again) still leaves the upload to
// be deleted when the file is removed.
func TestUppyRetryFailingAtHeadThenRemoveDeletes(t *testing.T) {
	e := uppyEnv(t, "")
	e.uppyWatch()
	fail := uppyFailPatches(e, true)
	e.addThroughDashboard(1, uppyFiles(t, 510, 2*chunk)...)
	eval[any](e, `uppy.upload().catch(() => {}), true`)
	e.uppyErrors(1)
	eval[any](e, `events.length = 0, uppy.retryUpload(uppy.getFiles()[0].id).catch(() => {}), true`)
	e.uppyErrors(1)
	fail.Store(false) // the DELETE's HEAD (finding parts) must get through
	eval[any](e, `uppy.removeFile(uppy.getFiles()[0].id), true`)
	waitFor(t, "a DELETE", 15*time.Second, func() bool { return e.tusd.Count(http.MethodDelete) != 0 })
	e.uppyNoRejections()
}

// Several failed files retried at once (retryAll), failing again, then cancel-all: one
// DELETE each, and no listener left.
func TestUppyRetryAllFailedFilesThenCancelAll(t *testing.T) {
	e := uppyEnv(t, "")
	e.uppyWatch()
	base := eval[int](e, `removedListeners()`)
	fail := uppyFailPatches(e, false)
	e.addThroughDashboard(3, uppyFiles(t, 520, 2*chunk, 2*chunk+1, chunk+5)...)
	eval[any](e, `uppy.upload().catch(() => {}), true`)
	e.uppyErrors(3)
	if n := eval[int](e, `removedListeners()`); n != base+3 {
		t.Fatalf("%d file-removed listeners after 3 failures, want %d", n, base+3)
	}
	eval[any](e, `events.length = 0, uppy.retryAll().catch(() => {}), true`)
	e.uppyErrors(3)
	if n := e.tusd.Count(http.MethodPost); n != 3 {
		t.Fatalf("%d POSTs", n)
	}
	eval[any](e, `uppy.cancelAll(), true`)
	waitFor(t, "3 DELETEs", 15*time.Second, func() bool { return e.tusd.Count(http.MethodDelete) >= 3 })
	if n := eval[int](e, `removedListeners()`); n != base {
		t.Fatalf("%d file-removed listeners after cancel-all, want %d", n, base)
	}
	fail.Store(false)
	e.uppyThenUploadOne(1, 529)
	if n := e.tusd.Count(http.MethodDelete); n != 3 {
		t.Fatalf("%d DELETEs", n)
	}
	e.uppyNoRejections()
}

// Failed, then the plugin uninstalled, then the file removed: no DELETE, no error.
func TestUppyFailedThenUninstalledRemoveSendsNoDelete(t *testing.T) {
	e := uppyEnv(t, "")
	e.uppyWatch()
	fail := uppyFailPatches(e, false)
	e.addThroughDashboard(1, uppyFiles(t, 530, 2*chunk)...)
	eval[any](e, `uppy.upload().catch(() => {}), true`)
	e.uppyErrors(1)
	eval[any](e, `uppy.removePlugin(uppy.getPlugin('TusWasm')), uppy.removeFile(uppy.getFiles()[0].id), uppy.use(TusWasm, tusOptions), true`)
	fail.Store(false)
	e.uppyThenUploadOne(1, 531)
	if n := e.tusd.Count(http.MethodDelete); n != 0 {
		t.Fatalf("%d DELETEs after uninstall", n)
	}
	e.uppyNoRejections()
}

// Failed, removed, removed again, then cancel-all: one DELETE.
func TestUppyFailedRemovedTwiceDeletesOnce(t *testing.T) {
	e := uppyEnv(t, "")
	e.uppyWatch()
	fail := uppyFailPatches(e, false)
	e.addThroughDashboard(1, uppyFiles(t, 540, 2*chunk)...)
	eval[any](e, `uppy.upload().catch(() => {}), true`)
	e.uppyErrors(1)
	eval[any](e, `(() => { const id = uppy.getFiles()[0].id; uppy.removeFile(id); uppy.removeFile(id); uppy.cancelAll(); return true })()`)
	waitFor(t, "a DELETE", 15*time.Second, func() bool { return e.tusd.Count(http.MethodDelete) != 0 })
	fail.Store(false)
	e.uppyThenUploadOne(1, 541)
	if n := e.tusd.Count(http.MethodDelete); n != 1 {
		t.Fatalf("%d DELETEs", n)
	}
	e.uppyNoRejections()
}

// A file whose creation was refused, then removed: no DELETE.
func TestUppyRefusedCreationThenRemoveSendsNoDelete(t *testing.T) {
	e := uppyEnv(t, "")
	e.uppyWatch()
	e.tusd.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPost, 1), http.StatusForbidden, nil, "no"))
	e.addThroughDashboard(1, uppyFiles(t, 550, 2*chunk)...)
	eval[any](e, `uppy.upload().catch(() => {}), true`)
	e.uppyErrors(1)
	if n := eval[int](e, `removedListeners()`); n != 0 {
		t.Fatalf("%d file-removed listeners after a refused creation", n)
	}
	eval[any](e, `uppy.removeFile(uppy.getFiles()[0].id), true`)
	e.uppyThenUploadOne(1, 551)
	if n := e.tusd.Count(http.MethodDelete); n != 0 {
		t.Fatalf("%d DELETEs", n)
	}
	e.uppyNoRejections()
}

// A completed file, removed (and cancel-all): no DELETE.
func TestUppyCompletedFileRemovedSendsNoDelete(t *testing.T) {
	e := uppyEnv(t, "")
	e.uppyWatch()
	e.uppyThenUploadOne(1, 560)
	eval[any](e, `uppy.removeFile(uppy.getFiles()[0].id), true`)
	e.uppyThenUploadOne(1, 561)
	eval[any](e, `uppy.cancelAll(), true`)
	e.uppyThenUploadOne(1, 562)
	if n := e.tusd.Count(http.MethodDelete); n != 0 {
		t.Fatalf("%d DELETEs", n)
	}
	e.uppyNoRejections()
}

// Many fail/retry cycles leave one listener for the failed file, none once removed.
func TestUppyFailRetryCyclesDoNotLeakListeners(t *testing.T) {
	e := uppyEnv(t, "")
	e.uppyWatch()
	base := eval[int](e, `removedListeners()`)
	uppyFailPatches(e, false)
	e.addThroughDashboard(1, uppyFiles(t, 570, 2*chunk)...)
	eval[any](e, `uppy.upload().catch(() => {}), true`)
	e.uppyErrors(1)
	for i := 0; i < 6; i++ {
		eval[any](e, `events.length = 0, uppy.retryUpload(uppy.getFiles()[0].id).catch(() => {}), true`)
		e.uppyErrors(1)
	}
	if n := eval[int](e, `removedListeners()`); n != base+1 {
		t.Fatalf("%d file-removed listeners after 7 failures, want %d", n, base+1)
	}
	eval[any](e, `uppy.removeFile(uppy.getFiles()[0].id), true`)
	waitFor(t, "a DELETE", 15*time.Second, func() bool { return e.tusd.Count(http.MethodDelete) != 0 })
	if n := eval[int](e, `removedListeners()`); n != base {
		t.Fatalf("%d file-removed listeners after removal, want %d", n, base)
	}
	e.uppyNoRejections()
}

// Without stored fingerprints a retry creates another upload; removing the file then
// deletes both server uploads, not only the last.
func TestUppyRetryWithoutStorageThenRemoveDeletesBoth(t *testing.T) {
	e := uppyEnv(t, "")
	e.uppyWatch()
	eval[any](e, `uppy.removePlugin(uppy.getPlugin('TusWasm')), uppy.use(TusWasm, { ...tusOptions, storeFingerprintForResuming: false }), true`)
	uppyFailPatches(e, false)
	e.addThroughDashboard(1, uppyFiles(t, 580, 2*chunk)...)
	eval[any](e, `uppy.upload().catch(() => {}), true`)
	e.uppyErrors(1)
	eval[any](e, `events.length = 0, uppy.retryUpload(uppy.getFiles()[0].id).catch(() => {}), true`)
	e.uppyErrors(1)
	eval[any](e, `uppy.removeFile(uppy.getFiles()[0].id), true`)
	waitFor(t, "a DELETE", 15*time.Second, func() bool { return e.tusd.Count(http.MethodDelete) != 0 })
	waitFor(t, "a DELETE for each POST", 15*time.Second, func() bool { return e.tusd.Count(http.MethodDelete) == e.tusd.Count(http.MethodPost) })
	e.uppyNoRejections()
}

// Uppy's retry of a small file whose upload was created and then failed continues
// that upload (a small file is sent whole, not stored: the retry passes its URL), so
// no second upload is left on the server.
func TestUppySmallFileRetryContinues(t *testing.T) {
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
