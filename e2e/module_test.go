package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// A module that dies mid-upload (the worker terminated, the Go program exited) fails
// the calls in flight with INTERNAL instead of leaving them pending forever, and the
// next call starts the module again and uploads.
func TestModuleDeathFailsCallsInFlight(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		h := holdNth(t, e.tusd, http.MethodPatch, 1, true)
		startIn(e, e.tab, fmt.Sprintf(`bg('dying', () => tus.createAndUpload(makeFile(%d, 320), {endpoint: '/files/', chunkSize: %d,
			adaptiveChunkSize: false, storage: false}))`, 4*chunk, chunk))
		waitChan(t, "the first PATCH", h.arrived)
		eval[any](e, `kill()`)
		if o := e.waitDone("dying"); o.OK || o.Code != "INTERNAL" {
			t.Fatalf("the call in flight when the module died: %+v, want INTERNAL", o)
		}
		h.Release()
		takeProblems(e) // the dead program's own complaints ("Go program has already exited")
		const size = 2*chunk + 3
		o := within(e, fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 321), {endpoint: '/files/', chunkSize: %d})`, size, chunk), 60000)
		if !o.OK {
			t.Fatalf("the call after: %+v, want the module started again", o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 321))
		if n := eval[int](e, `goes.length + workers.length`); n != 2 { // the page sees the worker's, not its Go
			t.Fatalf("%d Go programs and workers, want the module started twice", n)
		}
		takeProblems(e)
	})
}

// A module that dies while a call holds useFileLock's Web Lock: the next call (a new
// module) uploads the same file with useFileLock and must get the lock. In page mode
// the lock is held by a Promise only the dead Go program could resolve.
func TestModuleDeathReleasesFileLock(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		h := holdNth(t, e.tusd, http.MethodPatch, 1, true)
		startIn(e, e.tab, fmt.Sprintf(`bg('locked', () => {
			window.lockedFile = makeFile(%d, 2110, 'locked.bin')
			return tus.createAndUpload(lockedFile, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false, useFileLock: true})
		})`, 4*chunk, chunk))
		waitChan(t, "the first PATCH", h.arrived)
		eval[any](e, `kill()`)
		if o := e.waitDone("locked"); o.OK || o.Code != "INTERNAL" {
			t.Fatalf("the call in flight when the module died: %+v, want INTERNAL", o)
		}
		h.Release()
		takeProblems(e)
		o := within(e, fmt.Sprintf(`tus.createAndUpload(lockedFile, {endpoint: '/files/', chunkSize: %d, useFileLock: true})`, chunk), 30000)
		if o.Hang || !o.OK {
			t.Fatalf("the same file with useFileLock after the module died: %+v, want the upload (the dead call's lock released)", o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(4*chunk, 2110))
		takeProblems(e)
	})
}

// A worker that dies while it loads the module (killed, or a crash): the call that
// started it fails with INIT instead of staying pending for ever, and a later call
// starts the module again. (One that never says it is alive is given up after 30 s;
// not tested here, for the time it takes.)
func TestWorkerDiesWhileStarting(t *testing.T) {
	e := newWorkerEnv(t)
	// A first death, mid-call, so that the next call loads the module again.
	h := holdNth(t, e.tusd, http.MethodPatch, 1, true)
	startIn(e, e.tab, fmt.Sprintf(`bg('first', () => tus.createAndUpload(makeFile(%d, 2111), {endpoint: '/files/', chunkSize: %d,
		adaptiveChunkSize: false, storage: false}))`, 4*chunk, chunk))
	waitChan(t, "the first PATCH", h.arrived)
	eval[any](e, `kill()`)
	if o := e.waitDone("first"); o.OK || o.Code != "INTERNAL" {
		t.Fatalf("the call in flight when the worker died: %+v, want INTERNAL", o)
	}
	h.Release()
	takeProblems(e)
	// The next call starts a new worker (synchronously, inside the call); it is killed
	// as soon as it says it is alive, while it loads the module.
	o := within(e, `(() => {
		const n = workers.length
		const p = tus.createAndUpload(makeFile(10, 2112), {endpoint: '/files/', storage: false})
		if (workers.length !== n + 1) throw new Error('no new worker started by the call: ' + workers.length)
		const w = workers.at(-1)
		w.addEventListener('message', ({data}) => data.type === 'alive' && w.terminate())
		return p
	})()`, 30000)
	if o.Hang || o.OK || o.Code != "INIT" {
		t.Errorf("a call whose new worker died while loading: %+v, want INIT", o)
	}
	takeProblems(e)
	o = within(e, `tus.createAndUpload(makeFile(10, 2113), {endpoint: '/files/', storage: false})`, 30000)
	if o.Hang || !o.OK {
		t.Fatalf("a call after a worker died while loading: %+v, want the module started again", o)
	}
	e.tusd.AssertStored(t, o.result(t).URL, pattern(10, 2113))
	takeProblems(e)
}

// The module dies twice (each new module killed mid-upload): every call in flight gets
// INTERNAL, and after each death the next call starts the module again. A call whose
// signal aborts while the module reloads ends with AbortError and sends nothing.
func TestModuleDiesTwice(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		for round := 1; round <= 2; round++ {
			h := holdNth(t, e.tusd, http.MethodPatch, 1, true) // counts the PATCHes it sees from now
			key := fmt.Sprintf("die%d", round)
			startIn(e, e.tab, fmt.Sprintf(`bg(%q, () => tus.createAndUpload(makeFile(%d, %d), {endpoint: '/files/', chunkSize: %d,
				adaptiveChunkSize: false, storage: false}))`, key, 4*chunk, 2190+round, chunk))
			waitChan(t, "a PATCH", h.arrived)
			eval[any](e, `kill()`)
			if o := e.waitDone(key); o.OK || o.Code != "INTERNAL" {
				t.Fatalf("round %d: the call in flight when the module died: %+v, want INTERNAL", round, o)
			}
			h.Release()
			waitFor(t, "the held PATCH to be logged", 30e9, func() bool { return e.tusd.Count(http.MethodPatch) >= round })
			takeProblems(e)
		}
		before := len(e.tusd.Requests())
		o := within(e, `(async () => { // the page has seen the death: the failed call settled after it
			const c = new AbortController()
			const p = tus.createAndUpload(makeFile(10, 2195), {endpoint: '/files/', storage: false, signal: c.signal})
			setTimeout(() => c.abort()) // while the module loads
			return p
		})()`, 30000)
		if o.Hang || o.OK || o.Name != "AbortError" {
			t.Errorf("a call aborted while the module reloads: %+v, want AbortError", o)
		}
		if reqs := e.tusd.Requests()[before:]; len(reqs) != 0 {
			t.Errorf("%d requests from a call aborted while the module reloaded: %v", len(reqs), reqs)
		}
		o = within(e, `tus.createAndUpload(makeFile(3000, 2196), {endpoint: '/files/', storage: false})`, 60000)
		if o.Hang || !o.OK {
			t.Fatalf("the call after two deaths: %+v", o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(3000, 2196))
		takeProblems(e)
	})
}

// When the module dies, its requests in flight should end with it: the calls they
// belonged to have already failed (INTERNAL), and the next call may resume the same
// upload. In worker mode terminate() ends them; in page mode the dead Go program's
// fetch goes on sending its body, a writer nobody controls.
func TestModuleDeathEndsItsRequests(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		h := holdNth(t, e.tusd, http.MethodPatch, 1, true)
		startIn(e, e.tab, fmt.Sprintf(`bg('orphan', () => tus.createAndUpload(makeFile(%d, 2197), {endpoint: '/files/', chunkSize: %d,
			adaptiveChunkSize: false, storage: false}))`, 4*chunk, chunk))
		waitChan(t, "the first PATCH", h.arrived)
		eval[any](e, `kill()`)
		if o := e.waitDone("orphan"); o.OK || o.Code != "INTERNAL" {
			t.Fatalf("the call in flight when the module died: %+v, want INTERNAL", o)
		}
		select {
		case <-h.aborted:
		case <-time.After(10 * time.Second):
			t.Errorf("the dead module's PATCH was still in flight 10 s after its call failed with INTERNAL")
		}
		h.Release()
		takeProblems(e)
	})
}

// init({wasmURL}) takes the module in hand, as bytes (an ArrayBuffer) or compiled (a
// WebAssembly.Module), in main-thread and worker mode (where it is cloned to the
// worker); an upload then works. Node's entry relies on the same code path.
func TestInitModuleInHand(t *testing.T) {
	e := newEnv(t)
	for i, page := range []string{"/test.html?wasm=bytes", "/test.html?wasm=module", "/test.html?worker&wasm=bytes", "/test.html?worker&wasm=module"} {
		e.open(e.tab, page)
		const size = 3*chunk + 1
		o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, %d), {endpoint: '/files/', chunkSize: %d, storage: false}))`, size, 290+i, chunk))
		if !o.OK {
			t.Fatalf("%s: %+v", page, o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(size, uint32(290+i)))
	}
	for bad, code := range map[string]string{`{wasmURL: 5}`: "INVALID_OPTION", `{wasmURL: new Uint8Array(0)}`: "INVALID_OPTION", `{wasmURL: {}}`: "INVALID_OPTION"} {
		if o := within(e, `tus.init(`+bad+`)`, 10000); o.OK || o.Code != code {
			t.Errorf("init(%s): %+v, want %s", bad, o, code)
		}
	}
}
