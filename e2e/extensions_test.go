package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// Creation with upload: a small file is one request; an interrupted POST starts over;
// a server that ignores the POST's bytes still gets the whole file.
func TestCreationWithUploadInBrowser(t *testing.T) {
	e := newEnv(t)
	const small = 100 << 10
	upload := func(seed int, opts string) result {
		return eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, %d), {endpoint: '/files/', storage: false,
			retry: {initialDelayMs: 10}, %s}))`, small, seed, opts)).result(t)
	}
	r := upload(90, "")
	e.tusd.AssertStored(t, r.URL, pattern(small, 90))
	if reqs := e.tusd.Requests(); len(reqs) != 1 || reqs[0].Method != http.MethodPost {
		t.Fatalf("requests %v, want one POST carrying the file", reqs)
	}
	before := len(e.tusd.Requests())
	r = upload(91, "uploadDataDuringCreation: false")
	e.tusd.AssertStored(t, r.URL, pattern(small, 91))
	if n := len(e.tusd.Requests()) - before; n != 2 {
		t.Fatalf("%d requests with uploadDataDuringCreation: false, want a POST and a PATCH", n)
	}
	// The connection breaks in the POST body before any reply: a new POST.
	e.tusd.Inject(tusdtest.Truncate(tusdtest.Nth(http.MethodPost, 1), 1000, true))
	before = e.tusd.Count(http.MethodPost)
	r = upload(92, "")
	e.tusd.AssertStored(t, r.URL, pattern(small, 92))
	if n := e.tusd.Count(http.MethodPost) - before; n != 2 {
		t.Fatalf("%d POSTs after a reset POST, want 2", n)
	}
}

// streamJS is a ReadableStream of the pattern's bytes in uneven chunks, of unknown
// length.
func streamJS(size, seed int) string {
	return fmt.Sprintf(`(() => {
		const data = pattern(%d, %d)
		let pos = 0, n = 0
		return new ReadableStream({ pull (c) {
			if (pos >= data.length) return c.close()
			const k = Math.min(data.length - pos, 1000 + (n++ * 7919) %% 100000)
			c.enqueue(data.slice(pos, pos + k)); pos += k
		} })
	})()`, size, seed)
}

// A ReadableStream of unknown length, at the sizes that matter, byte-exact; one with a
// reset mid-PATCH; progress reports total null until the length is known.
func TestReadableStreamUploads(t *testing.T) {
	e := newEnv(t)
	for i, size := range []int{0, 1, chunk - 1, chunk + 1, 5*chunk + 3} {
		seed := 100 + i
		o := eval[outcome](e, fmt.Sprintf(`run(async () => {
			const totals = []
			const r = await tus.createAndUpload(%s, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false,
				onProgress: (sent, total) => totals.push(total)})
			return {...r, totals}
		})`, streamJS(size, seed), chunk))
		r := o.result(t)
		e.tusd.AssertStored(t, r.URL, pattern(size, uint32(seed)))
		var got struct{ Totals []*int64 }
		mustJSON(t, o.Value, &got)
		if n := len(got.Totals); size > chunk && (n < 2 || got.Totals[0] != nil || got.Totals[n-1] == nil || *got.Totals[n-1] != int64(size)) {
			t.Fatalf("size %d: progress totals %v, want null until the length is known", size, got.Totals)
		}
	}
	if n := eval[int](e, `Object.keys(localStorage).filter(k => k.startsWith('tuswasm::')).length`); n != 0 {
		t.Fatalf("streams left %d entries in storage", n)
	}
	// A reset mid-PATCH: the unconfirmed chunk is kept and sent again.
	e.tusd.Inject(tusdtest.Truncate(tusdtest.Nth(http.MethodPatch, 2), 1000, true))
	const size = 6*chunk + 11
	before := e.tusd.BodyBytes.Load()
	r := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(%s, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false,
		retry: {initialDelayMs: 10}}))`, streamJS(size, 110), chunk)).result(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 110))
	if extra := e.tusd.BodyBytes.Load() - before - size; extra < 0 || extra > chunk {
		t.Fatalf("%d bytes re-sent after the reset", extra)
	}
}

// A stream through the Upload class: pause and resume in the same page continue the
// same upload from the stream's kept bytes; uploadSize creates it with its length.
func TestReadableStreamPauseResume(t *testing.T) {
	e := newEnv(t)
	const size = 6 * chunk
	h := holdNth(t, e.tusd, http.MethodPatch, 3, true)
	var deferred atomic.Bool
	e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		deferred.Store(deferred.Load() || r.Header.Get("Upload-Defer-Length") != "")
		return false
	})
	startIn(e, e.tab, fmt.Sprintf(`bg('s', () => {
		window.up = new tus.Upload(%s, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false, uploadSize: %d})
		up.start()
		return up.done
	})`, streamJS(size, 111), chunk, size))
	waitChan(t, "the third PATCH", h.arrived)
	eval[any](e, `up.pause()`)
	waitChan(t, "pause to abort the PATCH", h.aborted)
	eval[any](e, `up.resume()`)
	r := e.waitDone("s").result(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 111))
	if n := e.tusd.Count(http.MethodPost); n != 1 || deferred.Load() {
		t.Fatalf("%d POSTs, deferred %v: want one upload created with its length", n, deferred.Load())
	}
}

// Checksums: a byte flipped in flight is caught (460) and the chunk re-sent; without
// the option the same fault stores corrupt bytes (so this test can fail).
func TestChecksumInBrowser(t *testing.T) {
	e := newEnv(t)
	e.tusd.VerifyChecksums()
	const size = 4 * chunk
	var flip atomic.Bool
	nth := 0
	e.tusd.Inject(tusdtest.FlipByte(func(r *http.Request) bool {
		if r.Method != http.MethodPatch || !flip.Load() {
			return false
		}
		if nth++; nth == 2 {
			flip.Store(false)
			return true
		}
		return false
	}))
	// sha512: @uploadx/core verifies md5, sha1 and sha256 itself (TestServers), no
	// server here verifies sha384 or sha512, so tusdtest's verifying front does.
	for _, alg := range []string{"sha512", ""} {
		flip.Store(true)
		nth = 0
		opts := ""
		if alg != "" {
			opts = fmt.Sprintf("checksum: %q", alg)
		}
		r := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 112), {endpoint: '/files/', chunkSize: %d,
			adaptiveChunkSize: false, storage: false, retry: {initialDelayMs: 10}, %s}))`, size, chunk, opts)).result(t)
		stored := e.tusd.Stored(t, r.URL)
		if alg == "" {
			if string(stored) == string(pattern(size, 112)) {
				t.Fatal("without a checksum the flipped byte did not reach storage: the fault is not working")
			}
			continue
		}
		e.tusd.AssertStored(t, r.URL, pattern(size, 112))
		mismatches := 0
		for _, q := range e.tusd.Requests() {
			if q.Status == 460 {
				mismatches++
			}
		}
		if mismatches != 1 {
			t.Fatalf("%d checksum mismatches answered, want 1", mismatches)
		}
	}
}

// Expiration: the result and the stored entry carry expiresAt; an entry past it is
// skipped without a request and removed; listUploads leaves such entries out.
// The server is @tus/server, whose file store has the expiration extension (an hour,
// as e2e/servers/serve.mjs sets it); tusd has none.
func TestExpirationInBrowser(t *testing.T) {
	up := startNode(t, "tus-node", &upstream{endpoint: "/files"})
	e := newEnvWithProxy(t, nil, up.proxy())
	const size = 4 * chunk
	file := fmt.Sprintf(`makeFile(%d, 113, 'x.bin')`, size)
	pauseAt(t, e, fmt.Sprintf(`tus.createAndUpload(%s, {endpoint: '/files', chunkSize: %d, adaptiveChunkSize: false, signal: ctl.signal})`, file, chunk))
	entry := eval[map[string]any](e, `tus.listUploads().then(l => l[0])`)
	at, err := time.Parse(time.RFC3339, fmt.Sprint(entry["expiresAt"]))
	if err != nil || time.Until(at) < 58*time.Minute {
		t.Fatalf("stored entry %v: want expiresAt an hour ahead", entry)
	}
	// Make the entry's expiry pass (the server's clock is not the page's).
	eval[any](e, `Object.keys(localStorage).filter(k => k.startsWith('tuswasm::')).forEach(k => {
		const v = JSON.parse(localStorage.getItem(k)); v.expiresAt = '2020-01-01T00:00:00Z'; localStorage.setItem(k, JSON.stringify(v)) })`)
	if n := eval[int](e, `tus.listUploads().then(l => l.length)`); n != 0 {
		t.Fatalf("listUploads shows %d expired entries", n)
	}
	if n := eval[int](e, `Object.keys(localStorage).filter(k => k.startsWith('tuswasm::')).length`); n != 0 {
		t.Fatalf("listUploads left %d expired entries in localStorage", n)
	}
	// Put it back expired; the upload skips it without asking the server.
	eval[any](e, fmt.Sprintf(`localStorage.setItem('tuswasm::' + %q, JSON.stringify({...%s, expiresAt: '2020-01-01T00:00:00Z'}))`,
		fmt.Sprint(entry["fingerprint"]), mustMarshal(t, entry)))
	before := len(e.tusd.Requests())
	o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(%s, {endpoint: '/files', chunkSize: %d}))`, file, chunk))
	r := o.result(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 113))
	var got struct{ ExpiresAt string }
	mustJSON(t, o.Value, &got)
	if first := e.tusd.Requests()[before]; r.Resumed || first.Method != http.MethodPost || got.ExpiresAt == "" {
		t.Fatalf("%+v (expiresAt %q) after a first request %v: the expired entry was used, or no expiry came back", r, got.ExpiresAt, first)
	}
	if strings.Contains(fmt.Sprint(e.tusd.Requests()[before:]), "HEAD") {
		t.Fatal("a HEAD was sent for the expired entry")
	}
}
