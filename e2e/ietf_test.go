package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Issue 13: protocol 'ietf-draft-05' in Chromium against tusd's draft mode: a file
// with metadata, an empty file, a stream of unknown length and a termination, each
// request checked for the draft's headers; options the draft lacks are refused. The
// fault matrix (TestFaultMatrixDraft) covers recovery and the reload.
func TestIETFDraftInBrowser(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var seen []string
	e.tusd.Inject(func(_ http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Upload-Draft-Interop-Version") != "6" || r.Header.Get("Tus-Resumable") != "" {
			t.Errorf("%s %s: not a draft request: %v", r.Method, r.URL.Path, r.Header)
		}
		seen = append(seen, fmt.Sprintf("%s Upload-Complete=%s", r.Method, r.Header.Get("Upload-Complete")))
		return false
	})
	const size = 5*chunk + 7
	o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 21, 'naïve name.bin'), {
		endpoint: '/files/', protocol: 'ietf-draft-05', chunkSize: %d, storage: false,
		metadata: {filename: 'naïve name.bin', filetype: 'application/x-test'}}))`, size, chunk))
	r := o.result(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 21))
	if md := e.tusd.Metadata(t, r.URL); md["filename"] != "naïve name.bin" || md["filetype"] != "application/x-test" {
		t.Fatalf("tusd's metadata %v: want the name from Content-Disposition, the type from Content-Type", md)
	}
	mu.Lock()
	t.Logf("requests: %s", strings.Join(seen, ", "))
	if last := seen[len(seen)-1]; last != "PATCH Upload-Complete=?1" {
		t.Errorf("last request %q, want the PATCH with Upload-Complete: ?1", last)
	}
	mu.Unlock()

	o = eval[outcome](e, `run(() => tus.createAndUpload(makeFile(0, 1), {endpoint: '/files/', protocol: 'ietf-draft-05', storage: false}))`)
	e.tusd.AssertStored(t, o.result(t).URL, nil)

	// A stream of unknown length: no Upload-Length, the last append completes it.
	o = eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 22).stream(),
		{endpoint: '/files/', protocol: 'ietf-draft-05', chunkSize: %d, adaptiveChunkSize: false}))`, 3*chunk+5, chunk))
	r = o.result(t)
	e.tusd.AssertStored(t, r.URL, pattern(3*chunk+5, 22))

	o = eval[outcome](e, fmt.Sprintf(`run(() => tus.terminate(%q, {protocol: 'ietf-draft-05'}))`, r.URL))
	if !o.OK {
		t.Fatalf("terminate: %+v", o)
	}
	if _, err := os.Stat(filepath.Join(e.backend.Dir, path.Base(r.URL))); !os.IsNotExist(err) {
		t.Fatalf("terminated upload still stored: %v", err)
	}

	before := len(e.tusd.Requests())
	for opts, mention := range map[string]string{
		`{protocol: 'ietf-draft-06'}`:                       `protocol must be 'tus-v1' or 'ietf-draft-05'`,
		`{protocol: 'ietf-draft-05', parallelUploads: 2}`:   "parallel uploads need tus concatenation",
		`{protocol: 'ietf-draft-05', checksum: 'sha256'}`:   "checksums are a tus extension",
		`{protocol: 'ietf-draft-05', metadata: {who: 'x'}}`: `metadata key "who"`,
	} {
		o := eval[outcome](e, `run(() => tus.createAndUpload(makeFile(10, 1), {endpoint: '/files/', ...`+opts+`}))`)
		if o.OK || o.Code != "INVALID_OPTION" || !strings.Contains(o.Message, mention) {
			t.Errorf("%s: %+v, want INVALID_OPTION mentioning %q", opts, o, mention)
		}
	}
	if n := len(e.tusd.Requests()) - before; n != 0 {
		t.Fatalf("%d requests sent with invalid options", n)
	}
}

// The Upload class's pause and resume in draft mode: the PATCH in flight is aborted,
// resume continues the same upload after a HEAD.
func TestIETFDraftPauseResumeInBrowser(t *testing.T) {
	e := newEnv(t)
	const size = 5 * chunk
	h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
	startIn(e, e.tab, fmt.Sprintf(`bg('u', async (s) => {
		window.up = new tus.Upload(makeFile(%d, 24, 'u.bin'), {endpoint: '/files/', protocol: 'ietf-draft-05',
			chunkSize: %d, storage: false, onProgress: (sent) => s.progress.push(sent)})
		up.start()
		return up.done
	})`, size, chunk))
	waitChan(t, "the second PATCH", h.arrived)
	eval[any](e, `up.pause()`)
	waitChan(t, "pause to abort the PATCH", h.aborted)
	eval[any](e, `up.resume()`)
	r := e.waitDone("u").result(t)
	if posts, heads := e.tusd.Count(http.MethodPost), e.tusd.Count(http.MethodHead); posts != 1 || heads < 1 {
		t.Fatalf("%d POST and %d HEAD: want the same upload continued after a HEAD", posts, heads)
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 24))
}

// A small File with a type goes whole, as its own Blob rather than a slice of it
// (wasm/blobfile.go), so fetch would send its type as the Content-Type of a request
// that names none: a draft creation without a filetype. The POST must carry no type
// (tusd would store it as the filetype), while tus 1.0's carries its own.
func TestWholeTypedFileContentType(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	types := map[string]string{}
	e.tusd.Inject(func(_ http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method == http.MethodPost {
			mu.Lock()
			types[r.Header.Get("Upload-Draft-Interop-Version")] = r.Header.Get("Content-Type")
			mu.Unlock()
		}
		return false
	})
	for protocol, want := range map[string]string{"ietf-draft-05": "", "tus-v1": "application/offset+octet-stream"} {
		o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(new File([pattern(1000, 23)], 'a.png', {type: 'image/png'}),
			{endpoint: '/files/', protocol: %q, storage: false}))`, protocol))
		r := o.result(t)
		e.tusd.AssertStored(t, r.URL, pattern(1000, 23))
		key := map[string]string{"ietf-draft-05": "6", "tus-v1": ""}[protocol]
		mu.Lock()
		got, seen := types[key]
		mu.Unlock()
		if !seen {
			t.Fatalf("%s: no creation seen", protocol)
		}
		if got != want {
			t.Errorf("%s: the creation's Content-Type is %q, want %q", protocol, got, want)
		}
		if ft := e.tusd.Metadata(t, r.URL)["filetype"]; ft != "" {
			t.Errorf("%s: tusd stored the filetype %q, which no option named", protocol, ft)
		}
	}
}
