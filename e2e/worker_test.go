package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// newWorkerEnv opens the test page with tuswasm in worker mode (init({worker: true})).
func newWorkerEnv(t *testing.T) *env {
	e := newEnv(t)
	e.open(e.tab, "/test.html?worker")
	if !eval[bool](e, `tusWorker`) {
		t.Fatal("the page did not start tuswasm in worker mode")
	}
	return e
}

// Worker mode: the API on the page is the same. Callbacks, the headers function and
// hooks run on the page; errors keep their code and status; the AbortSignal pauses;
// storage stays the page's localStorage; a ReadableStream is transferred.
func TestWorkerMode(t *testing.T) {
	e := newWorkerEnv(t)
	const size = 5*chunk + 7
	o := eval[outcome](e, fmt.Sprintf(`run(async () => {
		const progress = [], urls = [], methods = []
		const r = await tus.createAndUpload(makeFile(%d, 120, 'w.bin'), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false,
			metadata: {filename: 'w.bin'}, headers: async () => ({'X-Token': 'page'}),
			onBeforeRequest: (req) => { methods.push(req.method); req.headers['X-From-Page'] = '1' },
			onProgress: (sent, total) => progress.push([sent, total]), onUploadUrlAvailable: (u) => urls.push(u)})
		return {...r, progress, urls, methods, goroutines: tus.stats().goroutines}
	})`, size, chunk))
	r := o.result(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 120))
	var got struct {
		Progress   [][2]int64
		URLs       []string
		Methods    []string
		Goroutines int
	}
	mustJSON(t, o.Value, &got)
	if len(got.Progress) < 5 || got.Progress[len(got.Progress)-1][0] != size || len(got.URLs) != 1 || got.URLs[0] != r.URL ||
		len(got.Methods) != len(e.tusd.Requests()) || got.Goroutines == 0 {
		t.Fatalf("callbacks from the worker: %+v", got)
	}

	// Errors cross with their code and status.
	o = eval[outcome](e, `run(() => tus.upload(makeFile(1, 1), {uploadUrl: '/files/nope'}))`)
	if o.OK || o.Name != "TusError" || o.Code != "EXPIRED" || o.Status != 404 {
		t.Fatalf("an error from the worker: %+v", o)
	}
	o = eval[outcome](e, `run(() => tus.createAndUpload(makeFile(1, 1), {endpoint: '/files/', chunksize: 5}))`)
	if o.Code != "INVALID_OPTION" || !strings.Contains(o.Message, "chunkSize") {
		t.Fatalf("option checks in the worker: %+v", o)
	}

	// Pause through the AbortSignal; the entry is in the page's localStorage; resume.
	pauseAt(t, e, fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 121, 'p.bin'), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false, signal: ctl.signal})`, size, chunk))
	if n := eval[int](e, `Object.keys(localStorage).filter(k => k.startsWith('tuswasm::')).length`); n != 1 {
		t.Fatalf("%d entries in the page's localStorage after a pause in the worker, want 1", n)
	}
	o = eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 121, 'p.bin'), {endpoint: '/files/', chunkSize: %d}))`, size, chunk))
	if r = o.result(t); !r.Resumed {
		t.Fatalf("not resumed from the page's storage: %+v", r)
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 121))

	// A ReadableStream goes to the worker; pause and resume through Upload continue it.
	h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
	startIn(e, e.tab, fmt.Sprintf(`bg('s', () => {
		window.up = new tus.Upload(%s, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false})
		up.start()
		return up.done
	})`, streamJS(size, 122), chunk))
	waitChan(t, "the stream's second PATCH", h.arrived)
	eval[any](e, `up.pause()`)
	waitChan(t, "the pause", h.aborted)
	eval[any](e, `up.resume()`)
	e.tusd.AssertStored(t, e.waitDone("s").result(t).URL, pattern(size, 122))
}

// In worker mode the upload keeps going while the page's main thread is blocked; in
// main-thread mode it stops (no new request can start). Measured at the server.
func TestWorkerModeIgnoresBusyMainThread(t *testing.T) {
	for _, mode := range []string{"worker", "main"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			if mode == "worker" {
				e = newWorkerEnv(t)
			}
			var mu sync.Mutex
			var arrivals []time.Time
			e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
				if r.Method == http.MethodPatch {
					mu.Lock()
					arrivals = append(arrivals, time.Now())
					mu.Unlock()
					time.Sleep(20 * time.Millisecond) // a server at ~12 MiB/s: the link's pace, not synchronisation
				}
				return false
			})
			const size = 48 << 20
			startIn(e, e.tab, fmt.Sprintf(`bg('b', () => tus.createAndUpload(makeFile(%d, 123), {endpoint: '/files/', chunkSize: %d,
				adaptiveChunkSize: false, storage: false}))`, size, chunk))
			waitFor(t, "the first PATCHes", 30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(arrivals) >= 3 })
			start := time.Now()
			eval[any](e, `(() => { const end = Date.now() + 3000; while (Date.now() < end) {} })()`) // the page's main thread, blocked
			end := time.Now()
			mu.Lock()
			during := 0
			for _, a := range arrivals {
				if a.After(start.Add(200*time.Millisecond)) && a.Before(end.Add(-200*time.Millisecond)) {
					during++
				}
			}
			mu.Unlock()
			t.Logf("%s mode: %d PATCHes started while the main thread was blocked for %v", mode, during, end.Sub(start).Round(time.Millisecond))
			if mode == "worker" && during < 10 || mode == "main" && during > 1 {
				t.Fatalf("%s mode: %d PATCHes during the busy loop", mode, during)
			}
			e.tusd.AssertStored(t, e.waitDone("b").result(t).URL, pattern(size, 123))
		})
	}
}

// tuswasm imported inside a dedicated or a shared worker: no window, no localStorage;
// storage defaults to IndexedDB, so a paused upload resumes from there.
func TestInsideWorkers(t *testing.T) {
	e := newEnv(t)
	const size = 6 * chunk
	eval[any](e, `(() => {
		let next = 0
		const rpc = (port) => {
			const waiting = new Map()
			port.onmessage = ({data}) => { waiting.get(data.id)(data); waiting.delete(data.id) }
			return (m) => new Promise((resolve) => { const id = ++next; waiting.set(id, resolve); port.postMessage({...m, id}) })
		}
		window.dedicated = rpc(new Worker('/inworker.js', {type: 'module'}))
		const shared = new SharedWorker('/inworker.js', {type: 'module'})
		shared.port.start()
		window.shared = rpc(shared.port)
	})()`)
	for _, w := range []string{"dedicated", "shared"} {
		env := eval[map[string]any](e, w+`({op: 'env'})`)
		if v, _ := env["value"].(map[string]any); !env["ok"].(bool) || v["window"] != "undefined" || v["localStorage"] != "undefined" {
			t.Fatalf("%s worker: %v", w, env)
		}
	}
	h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
	upload := fmt.Sprintf(`dedicated({op: 'upload', file: makeFile(%d, 124, 'in.bin'), options: {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false}})`, size, chunk)
	startIn(e, e.tab, `window.first = `+upload)
	waitChan(t, "the worker's second PATCH", h.arrived)
	eval[any](e, `dedicated({op: 'pause'})`)
	if o := eval[map[string]any](e, `first`); o["ok"].(bool) || o["name"] != "AbortError" {
		t.Fatalf("paused upload in the worker: %v", o)
	}
	if n := eval[int](e, `dedicated({op: 'list'}).then(r => r.value.length)`); n != 1 {
		t.Fatalf("%d uploads in the worker's IndexedDB after the pause, want 1", n)
	}
	o := eval[map[string]any](e, upload)
	v, _ := o["value"].(map[string]any)
	if !o["ok"].(bool) || v["resumed"] != true {
		t.Fatalf("resume in the worker: %v", o)
	}
	e.tusd.AssertStored(t, v["url"].(string), pattern(size, 124))
	o = eval[map[string]any](e, fmt.Sprintf(`shared({op: 'upload', file: makeFile(%d, 125), options: {endpoint: '/files/'}})`, chunk+1))
	if v, _ := o["value"].(map[string]any); !o["ok"].(bool) {
		t.Fatalf("upload in a shared worker: %v", o)
	} else {
		e.tusd.AssertStored(t, v["url"].(string), pattern(chunk+1, 125))
	}
}
