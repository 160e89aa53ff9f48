package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// pauseAt starts an upload in the background, aborts it while the second PATCH is in
// flight, and waits until it has settled as AbortError.
func pauseAt(t *testing.T, e *env, js string) {
	t.Helper()
	h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
	startIn(e, e.tab, `bg('paused', () => { window.ctl = new AbortController(); return `+js+` })`)
	waitChan(t, "the second PATCH", h.arrived)
	eval[any](e, `ctl.abort()`)
	if o := e.waitDone("paused"); o.OK || o.Name != "AbortError" {
		t.Fatalf("paused upload settled with %+v", o)
	}
}

// A corrupt localStorage entry is ignored (and replaced): the upload starts anew.
func TestCorruptStorageEntryIgnored(t *testing.T) {
	e := newEnv(t)
	const size = 4 * chunk
	upload := fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 21, 'c.bin'), {endpoint: '/files/', chunkSize: %d, signal: window.ctl?.signal})`, size, chunk)
	pauseAt(t, e, upload)
	eval[any](e, `Object.keys(localStorage).filter(k => k.startsWith('tuswasm::')).forEach(k => localStorage.setItem(k, '{"url": 12, oops'))`)
	eval[any](e, `window.ctl = null`)
	r := eval[outcome](e, `run(() => `+upload+`)`).result(t)
	if r.Resumed || e.tusd.Count(http.MethodPost) != 2 {
		t.Fatalf("%+v after a corrupt entry, %d POSTs (want a new upload)", r, e.tusd.Count(http.MethodPost))
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 21))
	if n := eval[int](e, `Object.keys(localStorage).filter(k => k.startsWith('tuswasm::')).length`); n != 0 {
		t.Fatalf("%d entries left", n)
	}
}

// Entries as earlier builds wrote them (Go's encoding/json: createdAt with nanoseconds)
// still resume, and findPreviousUploads reports them.
func TestStoredEntryFormatKept(t *testing.T) {
	e := newEnv(t)
	const size = 4 * chunk
	upload := fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 24, 'f.bin'), {endpoint: '/files/', chunkSize: %d, signal: window.ctl?.signal})`, size, chunk)
	pauseAt(t, e, upload)
	// An hour ago, with nanoseconds, as Go's encoding/json wrote it.
	created := eval[string](e, `(() => {
		const at = new Date(Date.now() - 3600000).toISOString().slice(0, 19)
		Object.keys(localStorage).filter(k => k.startsWith('tuswasm::')).forEach(k => {
			const v = JSON.parse(localStorage.getItem(k))
			localStorage.setItem(k, '{"fingerprint":' + JSON.stringify(v.fingerprint) + ',"url":' + JSON.stringify(v.url) +
				',"size":' + v.size + ',"createdAt":"' + at + '.123456789Z"}')
		})
		return at + 'Z'
	})()`)
	prev := eval[[]map[string]any](e, fmt.Sprintf(`tus.findPreviousUploads(makeFile(%d, 24, 'f.bin'), {endpoint: '/files/'})`, size))
	if len(prev) != 1 || prev[0]["createdAt"] != created || prev[0]["size"] != float64(size) {
		t.Fatalf("findPreviousUploads = %v, want createdAt %s", prev, created)
	}
	eval[any](e, `window.ctl = null`)
	r := eval[outcome](e, `run(() => `+upload+`)`).result(t)
	if !r.Resumed || e.tusd.Count(http.MethodPost) != 1 {
		t.Fatalf("%+v, %d POSTs: want the stored upload resumed", r, e.tusd.Count(http.MethodPost))
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 24))
}

// A full localStorage does not fail uploads.
func TestStorageQuotaExceeded(t *testing.T) {
	e := newEnv(t)
	// Fill it to the last byte: chunks of halving size until even one character fails.
	filled := eval[bool](e, `(() => {
		let i = 0, quota = false
		for (let n = 1 << 20; n >= 1; ) {
			try { localStorage.setItem('filler' + i++, 'x'.repeat(n)) } catch (e) { quota = e.name === 'QuotaExceededError'; n >>= 1 }
		}
		return quota
	})()`)
	if !filled {
		t.Fatal("could not fill localStorage")
	}
	t.Cleanup(func() { eval[any](e, `localStorage.clear()`) })
	const size = 2*chunk + 5
	o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 22), {endpoint: '/files/', chunkSize: %d}))`, size, chunk))
	e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 22))
	var got struct{ StorageFailed bool }
	mustJSON(t, o.Value, &got)
	if !got.StorageFailed {
		t.Fatal("the result does not say that storage refused the entry")
	}
}

// A caller's own storage object (async methods) carries the resumption.
func TestCustomStorage(t *testing.T) {
	e := newEnv(t)
	const size = 5 * chunk
	eval[any](e, `window.custom = (() => {
		const m = new Map()
		const later = (v) => new Promise(r => setTimeout(() => r(v), 1))
		return { m,
			get: (fp) => later(m.get(fp) ?? null),
			set: (fp, entry) => later(void m.set(fp, entry)),
			remove: (fp) => later(void m.delete(fp)),
			list: () => later([...m.values()]) }
	})()`)
	upload := fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 23, 'k.bin'), {endpoint: '/files/', chunkSize: %d, storage: custom, signal: window.ctl?.signal})`, size, chunk)
	pauseAt(t, e, upload)
	if n := eval[int](e, `custom.m.size + Object.keys(localStorage).length * 100`); n != 1 {
		t.Fatalf("custom storage holds %d entries (localStorage must hold none)", n)
	}
	eval[any](e, `window.ctl = null`)
	r := eval[outcome](e, `run(() => `+upload+`)`).result(t)
	if !r.Resumed || e.tusd.Count(http.MethodPost) != 1 {
		t.Fatalf("not resumed from custom storage: %+v", r)
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 23))
	if n := eval[int](e, `custom.m.size`); n != 0 {
		t.Fatalf("custom storage keeps %d entries after success", n)
	}
}

// A file edited on disk after it was picked fails with FILE_CHANGED, not endless retries.
func TestFileChangedOnDisk(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "edited.bin")
	if err := os.WriteFile(path, pattern(3*chunk, 24), 0o644); err != nil {
		t.Fatal(err)
	}
	setFiles(t, e.tab, "#file", path)
	// The browser snapshots a picked file's size and time lazily: make it do so now,
	// before the edit, as a person's page would by showing the file.
	if n := eval[int](e, `document.querySelector('#file').files[0].size`); n != 3*chunk {
		t.Fatalf("picked file has %d bytes", n)
	}
	if err := os.WriteFile(path, pattern(3*chunk+100, 25), 0o644); err != nil {
		t.Fatal(err)
	}
	// Chromium detects edits by modification time, and file times are coarse (a few ms)
	// on Linux: a rewrite this quick can keep the old time, so move it as an edit would.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(document.querySelector('#file').files[0], {endpoint: '/files/', chunkSize: %d, retry: {initialDelayMs: 10}}))`, chunk))
	if o.OK || o.Code != "FILE_CHANGED" {
		t.Fatalf("got %+v, want FILE_CHANGED", o)
	}
	if n := e.tusd.Count(http.MethodPatch); n > 1 {
		t.Fatalf("%d PATCH attempts: a changed file must not be retried", n)
	}
}

// index.d.ts declares exactly what index.js exports (and so for compat and node).
func TestTypeDeclarationsMatchExports(t *testing.T) {
	read := func(name string, re *regexp.Regexp) []string {
		b, err := os.ReadFile(filepath.Join(repoRoot, "js", name))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			for _, n := range strings.Split(strings.Join(m[1:], ""), ",") { // export { a, b as c }
				n = strings.TrimSpace(n)
				if _, alias, ok := strings.Cut(n, " as "); ok {
					n = alias
				}
				names = append(names, n)
			}
		}
		slices.Sort(names)
		return slices.Compact(names)
	}
	jsRe := regexp.MustCompile(`(?m)^export (?:(?:async )?(?:function|class|const) (\w+)|\{([^}]*)\})`)
	tsRe := regexp.MustCompile(`(?m)^export (?:declare (?:function|class|const) (\w+)|\{([^}]*)\})`)
	// node.js re-exports index.js (export *) and declares only what it adds.
	for mod, least := range map[string]int{"index": 5, "compat": 5, "node": 2} {
		js := read(mod+".js", jsRe)
		ts := read(mod+".d.ts", tsRe)
		if !slices.Equal(js, ts) || len(js) < least {
			t.Errorf("%[1]s.js exports %[2]v\n%[1]s.d.ts declares %[3]v", mod, js, ts)
		}
	}
}

// listUploads({storageMaxAgeMs: 0}) while an upload is being sent keeps its entry (the
// lease); the upload completes byte-exact and its entry is then gone.
func TestListUploadsKeepsUploadInProgress(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		const size = 4 * chunk
		h := holdNth(t, e.tusd, http.MethodPatch, 2, false)
		startIn(e, e.tab, fmt.Sprintf(`bg('busy', () => tus.createAndUpload(makeFile(%d, 2180, 'busy.bin'), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false}))`, size, chunk))
		waitChan(t, "the second PATCH", h.arrived)
		n := eval[int](e, `tus.listUploads({storageMaxAgeMs: 0}).then((l) => l.length)`)
		h.Release()
		if n != 1 {
			t.Errorf("listUploads({storageMaxAgeMs: 0}) during the upload listed %d entries, want its entry kept", n)
		}
		o := e.waitDone("busy")
		e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 2180))
		if n := eval[int](e, `tus.listUploads().then((l) => l.length)`); n != 0 {
			t.Errorf("%d entries after the upload completed", n)
		}
	})
}

// A caller's storage adapter that throws, returns garbage, or never answers: storage
// never fails (or holds) an upload, and the storage helpers fail with a code that is
// not INTERNAL ("a bug in tuswasm").
func TestStorageAdaptersMisbehave(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		eval[any](e, `(() => {
				const boom = () => { throw new RangeError('storage is broken') }
				window.throwing = {get: boom, set: boom, remove: boom, list: boom}
				window.rejecting = {get: async () => boom(), set: async () => boom(), remove: async () => boom(), list: async () => boom()}
				window.garbage = {get: () => 42, set: () => 'ok', remove: () => ({}), list: () => [42, null, 'x', {url: 7}]}
				window.notArray = {get: () => null, set: () => {}, remove: () => {}, list: () => 'nope'}
				const never = () => new Promise(() => {})
				window.hanging = {get: never, set: never, remove: never, list: never}
			})()`)
		const size = 2*chunk + 1
		for i, s := range []string{"throwing", "rejecting", "garbage", "notArray"} {
			seed := 230 + i
			o := within(e, fmt.Sprintf(`tus.createAndUpload(makeFile(%d, %d), {endpoint: '/files/', chunkSize: %d, storage: %s})`, size, seed, chunk, s), 30000)
			if !o.OK {
				t.Errorf("upload with %s storage: %+v, want success without storage", s, o)
			} else {
				e.tusd.AssertStored(t, o.result(t).URL, pattern(size, uint32(seed)))
			}
			l := within(e, fmt.Sprintf(`tus.listUploads({storage: %s})`, s), 10000)
			if !l.OK && (l.Code == "INTERNAL" || l.Code == "") || l.Hang {
				t.Errorf("listUploads with %s storage: %+v, want a result or a TusError that is not INTERNAL", s, l)
			}
			r := within(e, fmt.Sprintf(`tus.removeUpload('fp', {storage: %s})`, s), 10000)
			if !r.OK && (r.Code == "INTERNAL" || r.Code == "") || r.Hang {
				t.Errorf("removeUpload with %s storage: %+v", s, r)
			}
		}
		// A storage whose Promises never settle must not hold the upload forever.
		o := within(e, fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 240), {endpoint: '/files/', chunkSize: %d, storage: hanging})`, size, chunk), 60000)
		if !o.OK {
			t.Errorf("upload with a storage that never answers: %+v", o)
		}
		l := within(e, `tus.listUploads({storage: hanging})`, 30000)
		if l.Hang {
			t.Errorf("listUploads with a storage that never answers: %+v", l)
		}
	})
}

// storage: 'indexeddb' where IndexedDB never answers (a blocked open): uploads go on.
func TestIndexedDBBlocked(t *testing.T) {
	e := newEnv(t)
	eval[any](e, `void Object.defineProperty(window, 'indexedDB', {configurable: true, value: {open: () => ({})}})`)
	const size = 2*chunk + 1
	o := within(e, fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 241), {endpoint: '/files/', chunkSize: %d, storage: 'indexeddb'})`, size, chunk), 60000)
	if !o.OK {
		t.Fatalf("upload with an IndexedDB that never opens: %+v", o)
	}
	e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 241))
}

// A caller's storage written as a class (index.d.ts's UrlStorage implemented the
// usual way: methods on the prototype, state on this) carries the resumption in both
// modes, as a plain object of arrow functions does.
func TestCustomStorageClassInstance(t *testing.T) {
	inBothModes(t, func(t *testing.T, e *env, mode string) {
		const size = 5 * chunk
		eval[any](e, `window.custom = new (class {
			#m = new Map()
			get size () { return this.#m.size }
			get (fp) { return this.#m.get(fp) ?? null }
			set (fp, entry) { this.#m.set(fp, entry) }
			remove (fp) { this.#m.delete(fp) }
			list () { return [...this.#m.values()] }
		})()`)
		upload := fmt.Sprintf(`tus.createAndUpload(makeFile(%d, 2303, 'cls.bin'), {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false,
			storage: custom, signal: window.ctl?.signal})`, size, chunk)
		pauseAt(t, e, upload)
		if n := eval[int](e, `custom.size`); n != 1 {
			t.Fatalf("the class storage holds %d entries after a pause, want 1", n)
		}
		eval[any](e, `window.ctl = null`)
		r := eval[outcome](e, `run(() => `+upload+`)`).result(t)
		if !r.Resumed || e.tusd.Count(http.MethodPost) != 1 {
			t.Fatalf("not resumed from the class storage: %+v, %d POSTs", r, e.tusd.Count(http.MethodPost))
		}
		e.tusd.AssertStored(t, r.URL, pattern(size, 2303))
	})
}
