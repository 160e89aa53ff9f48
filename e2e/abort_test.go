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

// An abort in the same tick as the call, for every function that takes a signal: an
// AbortError and no request, in both modes.
func TestAbortInTheSameTickEveryFunction(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		o := within(e, `tus.create(makeFile(100, 2120), {endpoint: '/files/', storage: false})`, 30000)
		if !o.OK {
			t.Fatalf("create: %+v", o)
		}
		var url string
		mustJSON(t, o.Value, &url)
		before := len(e.tusd.Requests())
		o = within(e, fmt.Sprintf(`(async () => {
			const f = makeFile(100, 2120)
			const calls = {
				create: (signal) => tus.create(makeFile(100, 2121), {endpoint: '/files/', storage: false, signal}),
				upload: (signal) => tus.upload(f, {uploadUrl: %[1]q, storage: false, signal}),
				terminate: (signal) => tus.terminate(%[1]q, {signal}),
				findPreviousUploads: (signal) => tus.findPreviousUploads(f, {endpoint: '/files/', signal}),
				createAndUploadStream: (signal) => tus.createAndUpload(new Blob([pattern(100, 2122)]).stream(), {endpoint: '/files/', signal}),
				uploadClass: async (signal) => {
					const up = new tus.Upload(makeFile(100, 2123), {endpoint: '/files/', storage: false})
					up.start()
					await up.abort()
					return up.done
				},
			}
			const out = {}
			for (const [name, fn] of Object.entries(calls)) {
				const c = new AbortController()
				const p = fn(c.signal)
				c.abort()
				out[name] = await p.then(() => 'resolved', (e) => e?.name + ' ' + (e?.code ?? '') + ' ' + (e?.message ?? ''))
			}
			return out
		})()`, url), 30000)
		if o.Hang || !o.OK {
			t.Fatalf("same-tick aborts: %+v", o)
		}
		var got map[string]string
		mustJSON(t, o.Value, &got)
		for name, g := range got {
			if len(g) < 10 || g[:10] != "AbortError" {
				t.Errorf("%s aborted in the same tick: %s, want AbortError", name, g)
			}
		}
		if reqs := e.tusd.Requests()[before:]; len(reqs) != 0 {
			t.Errorf("%d requests after same-tick aborts: %v", len(reqs), reqs)
		}
		// The upload the aborted terminate() was about is still there, untouched.
		resp, err := http.DefaultClient.Do(headReq(t, url))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("the upload after an aborted terminate: %v %v", resp, err)
		}
		resp.Body.Close()
	})
}
