package e2e

import (
	"fmt"
	"net/http"
	"testing"
)

// gatedStreamJS defines window.gated(kind, pieces, size, seed): a ReadableStream of
// the pattern's bytes in pieces of size bytes that the test hands out one at a time
// (window.feed(k) releases k more; window.pulls counts the stream's pulls), as a slow
// producer such as a MediaRecorder does. kind 'bytes' makes a byte stream (BYOB reads).
const gatedStreamJS = `window.gated = (kind, pieces, size, seed) => {
	const data = pattern(pieces * size, seed)
	let given = 0, sent = 0, wake = null
	window.pulls = 0
	window.feed = (k) => { given += k; wake?.(); wake = null }
	const pull = async (c) => {
		window.pulls++
		while (sent >= given) await new Promise((r) => { wake = r })
		if (sent === pieces) {
			c.close()
			return c.byobRequest?.respond(0) // a byte stream's pending read ends only so
		}
		c.enqueue(data.slice(sent * size, (sent + 1) * size)); sent++
	}
	return kind === 'bytes' ? new ReadableStream({type: 'bytes', pull}) : new ReadableStream({pull}, {highWaterMark: 0})
}`

// A stream paused while the engine waits for its next bytes (a read in flight), then
// resumed, then fed: the read the paused call left behind lands in the buffer before
// the resumed call reads, and the upload is byte-exact. The rest of the stream is given
// only once the resumed call has asked for bytes (its first progress report comes just
// before its read), so both reads are pending at once. Both kinds of stream, both modes.
func TestStreamPausedDuringRead(t *testing.T) {
	const piece, pieces, seed = 64 << 10, 8, 300
	for _, kind := range []string{"default", "bytes"} {
		t.Run(kind, func(t *testing.T) {
			inBothModes(t, func(t *testing.T, e *env, mode string) {
				eval[any](e, gatedStreamJS)
				startIn(e, e.tab, fmt.Sprintf(`bg('g', () => {
					const onProgress = () => {
						if (!window.resumed || window.fed) return
						window.fed = true
						setTimeout(() => feed(%[2]d))
					}
					window.up = new tus.Upload(gated(%[1]q, %[2]d, %[3]d, %[4]d), {endpoint: '/files/', chunkSize: %[5]d,
						adaptiveChunkSize: false, retry: {initialDelayMs: 10}, onProgress})
					up.start()
					feed(4)
					return up.done
				})`, kind, pieces, piece, seed, 2*piece))
				// The POST carried the first chunk; the first PATCH needs piece 5, which is
				// not given: the engine waits on a read.
				waitFor(t, "the engine to wait for piece 5", 30e9, func() bool {
					return e.tusd.Count(http.MethodPost) == 1 && eval[int](e, `pulls`) >= 5
				})
				eval[any](e, `up.pause().then(() => { window.resumed = true; up.resume() })`)
				o := e.waitDone("g")
				if !o.OK {
					t.Fatalf("paused during a read, resumed: %+v", o)
				}
				e.tusd.AssertStored(t, o.result(t).URL, pattern(pieces*piece, seed))
			})
		})
	}
}
