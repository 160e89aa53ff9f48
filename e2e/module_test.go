package e2e

import (
	"fmt"
	"net/http"
	"testing"
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
