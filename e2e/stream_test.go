package e2e

import (
	"fmt"
	"net/http"
	"sync/atomic"
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

// A stream paused twice in a row while a read is pending (the first resumed call is
// paused again before the stream gives anything), then fed: byte-exact.
func TestStreamPausedTwiceDuringRead(t *testing.T) {
	const piece, pieces, seed = 64 << 10, 8, 2140
	for _, kind := range []string{"default", "bytes"} {
		t.Run(kind, func(t *testing.T) {
			inBothModes(t, func(t *testing.T, e *env, mode string) {
				eval[any](e, gatedStreamJS)
				startIn(e, e.tab, fmt.Sprintf(`bg('g2', () => {
					window.phase = 0
					const onProgress = () => {
						if (window.phase === 1) {
							window.phase = 2 // the first resumed call is about to read: pause it too
							setTimeout(() => up.pause().then(() => { window.phase = 3; up.resume() }))
						} else if (window.phase === 3) {
							window.phase = 4
							setTimeout(() => feed(%[2]d))
						}
					}
					window.up = new tus.Upload(gated(%[1]q, %[2]d, %[3]d, %[4]d), {endpoint: '/files/', chunkSize: %[5]d,
						adaptiveChunkSize: false, retry: {initialDelayMs: 10}, onProgress})
					up.start()
					feed(4)
					return up.done
				})`, kind, pieces, piece, seed, 2*piece))
				waitFor(t, "the engine to wait for piece 5", 30e9, func() bool {
					return e.tusd.Count(http.MethodPost) == 1 && eval[int](e, `pulls`) >= 5
				})
				eval[any](e, `up.pause().then(() => { window.phase = 1; up.resume() })`)
				o := within(e, `up.done`, 60000)
				if o.Hang || !o.OK {
					t.Fatalf("paused twice during a read, resumed: %+v (phase %d)", o, eval[int](e, `phase`))
				}
				if p := eval[int](e, `phase`); p != 4 {
					t.Fatalf("phase %d: the test did not pause twice", p)
				}
				e.tusd.AssertStored(t, o.result(t).URL, pattern(pieces*piece, seed))
			})
		})
	}
}

// A stream that errors while a paused call's read is pending, then resumed: the
// resumed call ends with FILE_CHANGED (the stream failed), promptly, no hang.
func TestStreamErrorsWhilePaused(t *testing.T) {
	const piece, seed = 64 << 10, 2141
	for _, kind := range []string{"default", "bytes"} {
		t.Run(kind, func(t *testing.T) {
			inBothModes(t, func(t *testing.T, e *env, mode string) {
				eval[any](e, gatedStreamJS)
				eval[any](e, `window.failing = (kind, size, seed) => {
					const data = pattern(16 * size, seed)
					let given = 0, sent = 0, wake = null, ctl = null
					window.pulls = 0
					window.feed = (k) => { given += k; wake?.(); wake = null }
					window.fail = () => ctl.error(new Error('the recorder broke'))
					const pull = async (c) => {
						ctl = c
						window.pulls++
						while (sent >= given) await new Promise((r) => { wake = r })
						c.enqueue(data.slice(sent * size, (sent + 1) * size)); sent++
					}
					return kind === 'bytes' ? new ReadableStream({type: 'bytes', pull}) : new ReadableStream({pull}, {highWaterMark: 0})
				}`)
				startIn(e, e.tab, fmt.Sprintf(`bg('ef', () => {
					window.up = new tus.Upload(failing(%q, %d, %d), {endpoint: '/files/', chunkSize: %d,
						adaptiveChunkSize: false, retry: {initialDelayMs: 10}})
					up.start()
					feed(4)
					return up.done
				})`, kind, piece, seed, 2*piece))
				waitFor(t, "the engine to wait for piece 5", 30e9, func() bool {
					return e.tusd.Count(http.MethodPost) == 1 && eval[int](e, `pulls`) >= 5
				})
				eval[any](e, `up.pause().then(() => { fail(); up.resume() })`)
				o := within(e, `up.done`, 30000)
				if o.Hang || o.OK || o.Code != "FILE_CHANGED" {
					t.Fatalf("a stream that failed while paused, resumed: %+v, want FILE_CHANGED", o)
				}
				takeProblems(e)
			})
		})
	}
}

// kill() while a stream upload waits for the stream (worker mode: the stream was
// transferred to the worker): INTERNAL; uploading the same stream again then fails
// promptly with a code, never hangs.
func TestStreamModuleDiesMidUpload(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		const piece, pieces, seed = 64 << 10, 8, 2142
		eval[any](e, gatedStreamJS)
		startIn(e, e.tab, fmt.Sprintf(`bg('ks', () => {
			window.ks = gated('default', %d, %d, %d)
			const p = tus.createAndUpload(ks, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false})
			feed(4)
			return p
		})`, pieces, piece, seed, 2*piece))
		waitFor(t, "the engine to wait for piece 5", 30e9, func() bool {
			return e.tusd.Count(http.MethodPost) == 1 && eval[int](e, `pulls`) >= 5
		})
		eval[any](e, `kill()`)
		if o := e.waitDone("ks"); o.OK || o.Code != "INTERNAL" {
			t.Fatalf("a stream upload when the module died: %+v, want INTERNAL", o)
		}
		takeProblems(e)
		o := within(e, `(() => { feed(8); return tus.createAndUpload(ks, {endpoint: '/files/'}) })()`, 30000)
		if o.Hang {
			t.Fatalf("the same stream after the module died: %+v, want a prompt failure", o)
		}
		t.Logf("the same stream after the module died: %+v", o)
		if o.OK {
			// Only acceptable if the stored bytes are right.
			e.tusd.AssertStored(t, o.result(t).URL, pattern(pieces*piece, seed))
		}
		takeProblems(e)
	})
}

// ReadableStreams that misbehave: each call settles with a typed error or uploads
// exactly the stream's bytes; nothing is silently truncated.
func TestStreamsMisbehave(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		eval[any](e, `window.chunks = (list, err) => { let i = 0; return new ReadableStream({ pull (c) {
				if (i < list.length) return c.enqueue(list[i++])
				if (err) return c.error(err)
				c.close()
			} }) }`)
		opts := fmt.Sprintf(`endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false, retry: {initialDelayMs: 10}`, chunk)
		for name, js := range map[string]string{
			"errors mid-way": `chunks([pattern(300000, 1), pattern(300000, 2)], new Error('microphone unplugged'))`,
			"strings":        `chunks(['hello', 'world'])`,
			"ArrayBuffers":   `chunks([new ArrayBuffer(10)])`,
			"numbers":        `chunks([1, 2, 3])`,
		} {
			o := within(e, `tus.createAndUpload(`+js+`, {`+opts+`})`, 30000)
			if o.Hang || o.OK || o.Name != "TusError" || o.Code == "INTERNAL" {
				t.Errorf("stream that %s: %+v, want a TusError", name, o)
			}
		}
		o := within(e, `(() => { const s = chunks([pattern(10, 1)]); s.getReader(); return tus.createAndUpload(s, {`+opts+`}) })()`, 30000)
		if o.OK || o.Code != "INVALID_OPTION" {
			t.Errorf("a locked stream: %+v", o)
		}
		// uploadSize that does not match what the stream yields.
		for _, c := range []struct {
			n, declared int
		}{{100, 10}, {10, 100}, {3*chunk + 5, 2 * chunk}, {2 * chunk, 3 * chunk}} {
			o := within(e, fmt.Sprintf(`tus.createAndUpload(chunks([pattern(%d, 3)]), {%s, uploadSize: %d})`, c.n, opts, c.declared), 30000)
			if o.Hang || o.OK || o.Code != "FILE_CHANGED" && o.Code != "INVALID_OPTION" {
				t.Errorf("a stream of %d bytes with uploadSize %d: %+v, want FILE_CHANGED", c.n, c.declared, o)
			}
		}
	})
}

// A stream uploaded to its end, given again: nothing is left to read, and the second
// call must say so rather than upload an empty file as a success. In worker mode the
// worker lets the finished stream go (its buffers with it).
func TestStreamGivenAgain(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		const size = 3 * chunk
		o := within(e, fmt.Sprintf(`{
				window.st = %s
				return await tus.createAndUpload(st, {endpoint: '/files/', chunkSize: %d})
			}`, streamJS(size, 270), chunk), 60000)
		if !o.OK {
			t.Fatalf("first upload: %+v", o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 270))
		again := within(e, `tus.createAndUpload(st, {endpoint: '/files/'})`, 30000)
		if again.OK || again.Hang || again.Code != "FILE_CHANGED" {
			t.Fatalf("the same stream again: %+v, want FILE_CHANGED", again)
		}
		t.Logf("the same stream again: %s %s", again.Code, again.Message)
	})
}

// Worker mode hands a stream to the worker once; a call that never posted it (aborted
// between its awaits of the module, or refused because the page holds a reader) must
// not count it as handed over: the same stream given again uploads, byte-exact, rather
// than failing as "read to its end by an earlier upload" (an outside audit found both).
func TestStreamNotHandedOverIsGivenAgain(t *testing.T) {
	e := newWorkerEnv(t)
	const size = 2*chunk + 5
	for name, js := range map[string]string{
		"aborted before posting": `const s = new Blob([pattern(%[1]d, %[2]d)]).stream()
			const c = new AbortController()
			const p = tus.createAndUpload(s, {endpoint: '/files/', signal: c.signal})
			await Promise.resolve() // the call is between its two awaits of the module
			c.abort()
			const first = await p.then(() => 'resolved', (e) => e.name)
			if (first !== 'AbortError') throw new Error('first call: ' + first)`,
		"locked, then released": `const s = new Blob([pattern(%[1]d, %[2]d)]).stream()
			const r = s.getReader()
			const first = await tus.createAndUpload(s, {endpoint: '/files/'}).then(() => 'resolved', (e) => e.code)
			r.releaseLock()
			if (first === 'resolved') throw new Error('a locked stream uploaded')`,
	} {
		t.Run(name, func(t *testing.T) {
			const seed = 4020
			o := within(e, fmt.Sprintf(`(async () => {
				`+js+`
				return tus.createAndUpload(s, {endpoint: '/files/', chunkSize: %[3]d})
			})()`, size, seed, chunk), 30000)
			if !o.OK {
				t.Fatalf("the same stream given again: %+v", o)
			}
			e.tusd.AssertStored(t, o.result(t).URL, pattern(size, seed))
		})
	}
}

// One stream given to a second upload while the first reads it: the second is refused
// at once (INVALID_OPTION, no request sent), and the first goes on, byte-exact. Before,
// both read one reader: one completed, the other failed part-way with FILE_CHANGED and
// left a partial upload on the server (an outside audit found it).
func TestStreamGivenToTwoAtOnce(t *testing.T) {
	const piece, pieces, seed = 64 << 10, 6, 310
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		eval[any](e, gatedStreamJS)
		startIn(e, e.tab, fmt.Sprintf(`bg('first', () => {
			window.st = gated('bytes', %d, %d, %d)
			const p = tus.createAndUpload(st, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false})
			feed(3) // the creation's chunk, and a byte past it
			return p
		})`, pieces, piece, seed, 2*piece))
		waitFor(t, "the first upload's creation", 30e9, func() bool { return e.tusd.Count(http.MethodPost) == 1 })
		second := within(e, `tus.createAndUpload(st, {endpoint: '/files/'})`, 30000)
		if second.OK || second.Hang || second.Code != "INVALID_OPTION" {
			t.Fatalf("the stream given to a second upload while the first reads it: %+v, want INVALID_OPTION", second)
		}
		up := within(e, `(async () => {
			const up = new tus.Upload(st, {endpoint: '/files/'})
			up.start()
			return up.done
		})()`, 30000)
		if up.OK || up.Hang || up.Code != "INVALID_OPTION" {
			t.Fatalf("the stream given to an Upload while another reads it: %+v, want INVALID_OPTION", up)
		}
		if n := e.tusd.Count(http.MethodPost); n != 1 {
			t.Fatalf("%d POSTs: the refused uploads sent requests", n)
		}
		eval[any](e, fmt.Sprintf(`feed(%d)`, pieces))
		o := e.waitDone("first")
		if !o.OK {
			t.Fatalf("the first upload: %+v", o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(pieces*piece, seed))
	})
}

// An Upload paused while it waits for the stream is alive and resumable, so it keeps
// the stream: another upload given it meanwhile is refused at once (before, it was
// accepted, took the stream's bytes, and the paused Upload could never resume).
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
		other := within(e, `tus.createAndUpload(st, {endpoint: '/files/'})`, 30000)
		if other.OK || other.Hang || other.Code != "INVALID_OPTION" {
			t.Fatalf("the stream of a paused Upload given to another upload: %+v, want INVALID_OPTION", other)
		}
		eval[any](e, fmt.Sprintf(`feed(%d)`, pieces))
		o := within(e, `(up.resume(), up.done)`, 30000)
		if !o.OK {
			t.Fatalf("the paused Upload, resumed: %+v", o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(pieces*piece, seed))
		if n := e.tusd.Count(http.MethodPost); n != 1 {
			t.Fatalf("%d POSTs, want the paused Upload's alone", n)
		}
	})
}

// A stream upload whose module dies is continued at its URL with the same stream by a
// new Upload (page mode: the stream outlives the Go program): the dead program's hold
// on it goes with the program. Before, the new upload was refused as if another read it.
func TestStreamContinuedAfterModuleDeath(t *testing.T) {
	const piece, pieces, seed = 64 << 10, 8, 4410
	e := newEnv(t)
	startDyingStream(t, e, fmt.Sprintf(`bg('dies', () => {
		window.up = new tus.Upload(st, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false})
		up.start()
		feed(4)
		return up.done
	})`, 2*piece), pieces, piece, seed)
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
	if !o.OK {
		t.Fatalf("the same stream continued at its URL after the module died: %+v", o)
	}
	e.tusd.AssertStored(t, o.result(t).URL, pattern(pieces*piece, seed))
	takeProblems(e)
}

// The same through tuswasm/compat, as tus-js-client programs retry: onError calls
// start() again, which continues at upload.url with the same stream.
func TestStreamCompatRetryAfterModuleDeath(t *testing.T) {
	const piece, pieces, seed = 64 << 10, 8, 4411
	e := newEnv(t)
	startDyingStream(t, e, fmt.Sprintf(`bg('compat', async () => {
		const compat = await import('/js/compat.js')
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
	})`, 2*piece, pieces), pieces, piece, seed)
	o := e.waitDone("compat")
	if !o.OK {
		t.Fatalf("compat Upload retried from onError after the module died: %+v (onError saw %v)", o, eval[[]string](e, `errors`))
	}
	e.tusd.AssertStored(t, o.result(t).URL, pattern(pieces*piece, seed))
	takeProblems(e)
}

// startDyingStream starts js (a bg() upload of window.st, a gated stream of pieces),
// waits until its creation is sent and the engine waits for piece 5, and kills the
// module.
func startDyingStream(t *testing.T, e *env, js string, pieces, piece int, seed uint32) {
	t.Helper()
	eval[any](e, gatedStreamJS)
	eval[any](e, fmt.Sprintf(`window.st = gated('default', %d, %d, %d)`, pieces, piece, seed))
	startIn(e, e.tab, js)
	waitFor(t, "the engine to wait for piece 5", 30e9, func() bool {
		return e.tusd.Count(http.MethodPost) == 1 && eval[int](e, `pulls`) >= 5
	})
	eval[any](e, `kill()`)
}

// tus-js-client's abort() (compat), then a new compat Upload given the same stream at
// the URL the first made, as tus-js-client programs go on: the aborted one lets go of
// the stream (an outside audit found it refused INVALID_OPTION). And abort() then
// start() on the same object, not awaited, continues the stream byte-exact.
func TestStreamCompatAbortThenAgain(t *testing.T) {
	const piece, pieces = 64 << 10, 6
	for name, js := range map[string]string{
		"a new Upload": `await c1.abort()
			return new Promise((resolve, reject) => {
				const c2 = new compat.Upload(st, {endpoint: '/files/', uploadUrl: c1.url, chunkSize: %[1]d, retryDelays: [],
					onSuccess: () => resolve({url: c2.url}), onError: reject})
				c2.start()
				feed(100)
			})`,
		"the same Upload": `void %[1]d // the chunk size the first start() was given
			return new Promise((resolve, reject) => {
				Object.assign(c1.options, {onSuccess: () => resolve({url: c1.url}), onError: reject})
				c1.abort()
				c1.start()
				feed(100)
			})`,
	} {
		t.Run(name, func(t *testing.T) {
			inBothModes(t, func(t *testing.T, e *env, mode string) {
				seed := uint32(5102 + len(name))
				eval[any](e, gatedStreamJS)
				eval[any](e, fmt.Sprintf(`window.st = gated('default', %d, %d, %d)`, pieces, piece, seed))
				startIn(e, e.tab, fmt.Sprintf(`(async () => {
					window.compat = await import('/js/compat.js')
					window.c1 = new compat.Upload(st, {endpoint: '/files/', chunkSize: %d, retryDelays: []})
					c1.start()
					feed(3)
				})()`, 2*piece))
				waitFor(t, "the first upload's creation and its wait for piece 4", 30e9, func() bool {
					return e.tusd.Count(http.MethodPost) == 1 && eval[int](e, `pulls`) >= 4
				})
				o := within(e, fmt.Sprintf(`(async () => {
					`+js+`
				})()`, 2*piece), 30000)
				if !o.OK {
					t.Fatalf("compat: abort(), then %s of the same stream: %+v", name, o)
				}
				e.tusd.AssertStored(t, o.result(t).URL, pattern(pieces*piece, seed))
				if n := e.tusd.Count(http.MethodPost); n != 1 {
					t.Fatalf("%d POSTs: the stream's upload was made anew", n)
				}
			})
		})
	}
}

// A tus-js-client program whose upload fails (a 500 on a PATCH, no retries left) makes a
// new Upload from onError with the same stream at upload.url: the failed one has ended,
// so the stream must be free, before the rejection reaches onError.
func TestStreamCompatNewUploadFromOnError(t *testing.T) {
	const piece, pieces, seed = 64 << 10, 6, 5103
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		var failed atomic.Bool
		e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if r.Method == http.MethodPatch && failed.CompareAndSwap(false, true) {
				w.WriteHeader(http.StatusInternalServerError)
				return true
			}
			return false
		})
		eval[any](e, gatedStreamJS)
		eval[any](e, fmt.Sprintf(`window.st = gated('default', %d, %d, %d); feed(100)`, pieces, piece, seed))
		o := within(e, fmt.Sprintf(`(async () => {
			const compat = await import('/js/compat.js')
			window.errors = []
			return new Promise((resolve, reject) => {
				const first = new compat.Upload(st, {endpoint: '/files/', chunkSize: %d, retryDelays: [],
					onError: (err) => {
						errors.push(err.message)
						const again = new compat.Upload(st, {endpoint: '/files/', uploadUrl: first.url, chunkSize: %d, retryDelays: [],
							onSuccess: () => resolve({url: again.url}), onError: reject})
						again.start()
					}})
				first.start()
			})
		})()`, 2*piece, 2*piece), 30000)
		if !o.OK {
			t.Fatalf("a new compat Upload of the stream from onError: %+v", o)
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(pieces*piece, seed))
	})
}
