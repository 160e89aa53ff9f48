package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// An Upload paused while it waits for the stream (its creation not yet sent), then the
// stream given to a different upload: the paused Upload is alive and resumable, and the
// stream feeds one upload at a time, so the other upload should be refused at once
// (INVALID_OPTION, no request). Observed: it is accepted, waits for the stream, takes
// its bytes, and the paused Upload can then never resume.
func TestStreamOfPausedUploadGivenToAnother(t *testing.T) {
	const piece, pieces, seed = 64 << 10, 6, 4412
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		eval[any](e, gatedStreamJS)
		startIn(e, e.tab, fmt.Sprintf(`bg('a', () => {
			window.st = gated('bytes', %d, %d, %d)
			window.up = new tus.Upload(st, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false})
			up.start()
			feed(1)
			return up.done
		})`, pieces, piece, seed, 2*piece))
		waitFor(t, "the engine to wait for piece 2", 30e9, func() bool { return eval[int](e, `pulls`) >= 2 })
		eval[any](e, `up.pause()`)
		startIn(e, e.tab, `bg('b', () => tus.createAndUpload(st, {endpoint: '/files/'}))`)
		time.Sleep(2 * time.Second)
		doneAt2s := eval[bool](e, `state.b.done`)
		eval[any](e, fmt.Sprintf(`feed(%d)`, pieces))
		bo := e.waitDone("b")
		ao := within(e, `(up.resume(), up.done)`, 30000)
		t.Logf("the other upload settled within 2 s: %v; its outcome: %+v; the paused Upload resumed: %+v; POSTs %d",
			doneAt2s, bo, ao, e.tusd.Count(http.MethodPost))
		if bo.OK || bo.Code != "INVALID_OPTION" || !doneAt2s {
			t.Errorf("the stream of a paused Upload given to another upload: %+v (settled within 2 s: %v), want INVALID_OPTION at once", bo, doneAt2s)
		}
		if !ao.OK {
			t.Errorf("the paused Upload, resumed: %+v, want it completed", ao)
		} else {
			e.tusd.AssertStored(t, ao.result(t).URL, pattern(pieces*piece, seed))
		}
	})
}
