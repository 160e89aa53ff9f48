package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
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
	deadline := time.Now().Add(30 * time.Second)
	for e.tusd.Count(http.MethodDelete) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no DELETE after the file was removed")
		}
		time.Sleep(20 * time.Millisecond)
	}
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
