package e2e

import (
	"fmt"
	"net/http"
	"testing"
)

// A stream upload whose module dies (page mode: the stream and its StreamSource live on
// the page and outlive the Go program) is continued at its URL with the same stream by
// a new Upload, as a tus-js-client program does from onError: the new module must be
// able to read the stream. The dead program's hold on the stream is never let go, so
// the new upload is refused as if another upload read it.
func TestStreamContinuedAfterModuleDeath(t *testing.T) {
	const piece, pieces, seed = 64 << 10, 8, 4410
	e := newEnv(t)
	eval[any](e, gatedStreamJS)
	startIn(e, e.tab, fmt.Sprintf(`bg('dies', () => {
		window.st = gated('default', %d, %d, %d)
		window.up = new tus.Upload(st, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false})
		up.start()
		feed(4)
		return up.done
	})`, pieces, piece, seed, 2*piece))
	waitFor(t, "the engine to wait for piece 5", 30e9, func() bool {
		return e.tusd.Count(http.MethodPost) == 1 && eval[int](e, `pulls`) >= 5
	})
	eval[any](e, `kill()`)
	if o := e.waitDone("dies"); o.OK || o.Code != "INTERNAL" {
		t.Fatalf("the stream upload when the module died: %+v, want INTERNAL", o)
	}
	takeProblems(e)
	o := within(e, fmt.Sprintf(`(async () => {
		const again = new tus.Upload(st, {endpoint: '/files/', uploadUrl: up.url, chunkSize: %d, adaptiveChunkSize: false})
		again.start()
		feed(%d)
		return again.done
	})()`, 2*piece, pieces), 30000)
	if o.Hang || !o.OK {
		t.Fatalf("the same stream continued at its URL after the module died: %+v, want the upload completed", o)
	}
	e.tusd.AssertStored(t, o.result(t).URL, pattern(pieces*piece, seed))
	takeProblems(e)
}

// The same through tuswasm/compat, the way tus-js-client programs retry: onError calls
// start() again, which continues at upload.url with the same stream.
func TestStreamCompatRetryAfterModuleDeath(t *testing.T) {
	const piece, pieces, seed = 64 << 10, 8, 4411
	e := newEnv(t)
	eval[any](e, gatedStreamJS)
	startIn(e, e.tab, fmt.Sprintf(`bg('compat', async () => {
		const compat = await import('/js/compat.js')
		window.st = gated('default', %d, %d, %d)
		window.errors = []
		return new Promise((resolve, reject) => {
			const up = new compat.Upload(st, {endpoint: '/files/', chunkSize: %d, retryDelays: [],
				onSuccess: () => resolve({url: up.url}),
				onError: (err) => {
					errors.push(err.code + ': ' + err.message)
					if (errors.length > 1) return reject(err)
					feed(%d)
					up.start() // tus-js-client's retry from onError
				}})
			up.start()
			feed(4)
		})
	})`, pieces, piece, seed, 2*piece, pieces))
	waitFor(t, "the engine to wait for piece 5", 30e9, func() bool {
		return e.tusd.Count(http.MethodPost) == 1 && eval[int](e, `pulls`) >= 5
	})
	eval[any](e, `kill()`)
	o := e.waitDone("compat")
	t.Logf("errors seen by onError: %v", eval[[]string](e, `errors`))
	if !o.OK {
		t.Fatalf("compat Upload retried from onError after the module died: %+v, want the upload completed", o)
	}
	e.tusd.AssertStored(t, o.result(t).URL, pattern(pieces*piece, seed))
	takeProblems(e)
}
