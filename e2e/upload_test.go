package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/tuswasm/tuswasm/engine"
)

const chunk = 256 << 10

func TestUploadSizes(t *testing.T) {
	e := newEnv(t)
	for i, size := range []int{0, 1, chunk - 1, chunk, chunk + 1, 50 << 20} {
		seed := uint32(i + 1)
		opts := fmt.Sprintf(`{endpoint: '/files/', chunkSize: %d, storage: false}`, chunk)
		if size > 8<<20 {
			opts = `{endpoint: '/files/'}` // defaults
		}
		o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, %d), %s))`, size, seed, opts))
		r := o.result(t)
		if r.Size != int64(size) || r.Resumed {
			t.Fatalf("size %d: result %+v", size, r)
		}
		e.tusd.AssertStored(t, r.URL, pattern(size, seed))
	}
	// Chunk bytes go from Blob to fetch without entering wasm memory; routing them
	// through Go would grow it past the 8 MiB chunks (to ~40 MiB for this file).
	mem := eval[int64](e, `tus.stats().wasmMemoryBytes`)
	t.Logf("wasm memory after a 50 MiB upload: %.1f MiB", float64(mem)/(1<<20))
	if mem > 24<<20 {
		t.Fatalf("wasm memory grew to %d MiB uploading 50 MiB", mem>>20)
	}
}

func TestProgressAndMetadata(t *testing.T) {
	e := newEnv(t)
	const size = 5*chunk + 7
	o := eval[outcome](e, fmt.Sprintf(`run(async () => {
		const progress = []
		const created = []
		const r = await tus.createAndUpload(makeFile(%d, 9, 'naïve name.bin'), {
			endpoint: '/files/', chunkSize: %d,
			metadata: {filename: 'naïve name.bin', filetype: 'application/octet-stream'},
			onCreate: (url) => created.push(url),
			onProgress: (sent, total) => progress.push([sent, total]),
		})
		return {...r, progress, created}
	})`, size, chunk))
	r := o.result(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 9))
	var extra struct {
		Progress [][2]int64 `json:"progress"`
		Created  []string   `json:"created"`
	}
	mustJSON(t, o.Value, &extra)
	if len(extra.Created) != 1 || extra.Created[0] != r.URL {
		t.Fatalf("onCreate saw %v, result %s", extra.Created, r.URL)
	}
	last := int64(-1)
	for _, p := range extra.Progress {
		if p[1] != size || p[0] <= last {
			t.Fatalf("progress not monotonic: %v", extra.Progress)
		}
		last = p[0]
	}
	if last != size || len(extra.Progress) < 6 {
		t.Fatalf("progress %v: want at least one call per chunk, ending at %d", extra.Progress, size)
	}
	resp, err := http.DefaultClient.Do(headReq(t, r.URL))
	if err != nil {
		t.Fatal(err)
	}
	md, err := engine.DecodeMetadata(resp.Header.Get("Upload-Metadata"))
	if err != nil || md["filename"] != "naïve name.bin" || md["filetype"] != "application/octet-stream" {
		t.Fatalf("server metadata %v, %v", md, err)
	}
}

func TestSplitCreateThenUpload(t *testing.T) {
	e := newEnv(t)
	const size = 3*chunk + 1
	o := eval[outcome](e, fmt.Sprintf(`run(async () => {
		const f = makeFile(%d, 3)
		const url = await tus.create(f, {endpoint: '/files/', storage: false})
		if (typeof url !== 'string') throw new Error('create returned ' + url)
		return tus.upload(f, {uploadUrl: url, chunkSize: %d, storage: false})
	})`, size, chunk))
	r := o.result(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 3))
	if n := e.tusd.Count(http.MethodPost); n != 1 {
		t.Fatalf("%d POSTs, want 1", n)
	}
}

// A real file picked through <input type=file>.
func TestRealFileInput(t *testing.T) {
	e := newEnv(t)
	data := pattern(2*chunk+123, 77)
	path := t.TempDir() + "/picked.bin"
	if err := writeFile(path, data); err != nil {
		t.Fatal(err)
	}
	setFiles(t, e.tab, "#file", path)
	o := eval[outcome](e, fmt.Sprintf(`run(() => {
		const f = document.querySelector('#file').files[0]
		return tus.createAndUpload(f, {endpoint: '/files/', chunkSize: %d, metadata: {filename: f.name}})
	})`, chunk))
	e.tusd.AssertStored(t, o.result(t).URL, data)
}

func TestErrorsAreTyped(t *testing.T) {
	e := newEnv(t)
	cases := map[string]struct{ js, code string }{
		"bad metadata key": {`tus.createAndUpload(makeFile(1, 1), {endpoint: '/files/', metadata: {'a b': 'x'}})`, "INVALID_OPTION"},
		"not a blob":       {`tus.createAndUpload('hello', {endpoint: '/files/'})`, "INVALID_OPTION"},
		"non-tus server":   {`tus.createAndUpload(makeFile(1, 1), {endpoint: '/test.html', checkServerCapabilities: true, retry: {maxRetries: 0}})`, "CAPABILITY"},
		"POST to a page":   {`tus.createAndUpload(makeFile(1, 1), {endpoint: '/test.html', retry: {maxRetries: 0}})`, "PROTOCOL"},
		"refused":          {`tus.createAndUpload(makeFile(1, 1), {endpoint: 'http://127.0.0.1:1/files/', retry: {maxRetries: 1, initialDelayMs: 1}})`, "NETWORK"},
		"unknown upload":   {`tus.upload(makeFile(1, 1), {uploadUrl: '/files/nope'})`, "EXPIRED"},
	}
	for name, tc := range cases {
		o := eval[outcome](e, `run(() => `+tc.js+`)`)
		if o.OK || o.Name != "TusError" || o.Code != tc.code {
			t.Errorf("%s: got %+v, want TusError %s", name, o, tc.code)
		}
	}
}
