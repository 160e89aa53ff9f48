package e2e

import (
	"fmt"
	"net/http"
	"testing"
)

// An abort in the same tick as the call (a signal aborted right after, or Upload's
// start() then pause()) ends the call with AbortError before any request: no creation
// is left behind, in either mode. The paused Upload then resumes and completes.
func TestAbortInTheSameTick(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		const size = 3 * chunk
		o := within(e, fmt.Sprintf(`(() => {
			const c = new AbortController()
			const p = tus.createAndUpload(makeFile(%d, 310), {endpoint: '/files/', storage: false, signal: c.signal})
			c.abort()
			return p
		})()`, size), 30000)
		if o.Hang || o.OK || o.Name != "AbortError" {
			t.Fatalf("createAndUpload, then abort(): %+v, want AbortError", o)
		}
		o = within(e, fmt.Sprintf(`(async () => {
			window.up = new tus.Upload(makeFile(%d, 311), {endpoint: '/files/', chunkSize: %d})
			up.start()
			await up.pause()
			return 'paused'
		})()`, size, chunk), 30000)
		if o.Hang || !o.OK {
			t.Fatalf("start() then pause(): %+v", o)
		}
		if n := len(e.tusd.Requests()); n != 0 {
			t.Fatalf("%d requests reached the server after aborts in the same tick: %v", n, e.tusd.Requests())
		}
		o = within(e, `(() => { up.resume(); return up.done })()`, 30000)
		if !o.OK {
			t.Fatalf("resume after the pause: %+v", o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 311))
		if n := e.tusd.Count(http.MethodPost); n != 1 {
			t.Fatalf("%d creations, want the one the resume made", n)
		}
	})
}
