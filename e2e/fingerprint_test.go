package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Two different files with the same name, size and date: the second must not resume
// the first's upload (it would store the first's bytes followed by its own).
func TestFingerprintCollision(t *testing.T) {
	e := newEnv(t)
	const size = 6 * chunk
	file := func(seed int) string {
		return fmt.Sprintf(`new File([pattern(%d, %d)], 'export.csv', {lastModified: 1700000000000})`, size, seed)
	}
	pauseAt(t, e, fmt.Sprintf(`tus.createAndUpload(%s, {endpoint: '/files/', chunkSize: %d, adaptiveChunkSize: false, signal: ctl.signal})`, file(150), chunk))
	r := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(%s, {endpoint: '/files/', chunkSize: %d}))`, file(151), chunk)).result(t)
	if r.Resumed || e.tusd.Count(http.MethodPost) != 2 {
		t.Fatalf("%+v: the second file resumed the first's upload", r)
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 151))
	// The first still resumes its own.
	r = eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(%s, {endpoint: '/files/', chunkSize: %d}))`, file(150), chunk)).result(t)
	if !r.Resumed {
		t.Fatalf("%+v: the first file did not resume its own upload", r)
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 150))
}

// A file rewritten in place with the same size and modification time (within the
// sampled ranges) is not resumed onto its old upload.
func TestFileModifiedInPlaceNotResumed(t *testing.T) {
	e := newEnv(t)
	const size = 6 * chunk
	path := filepath.Join(t.TempDir(), "report.bin")
	if err := os.WriteFile(path, pattern(size, 152), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	setFiles(t, e.tab, "#file", path)
	pauseAt(t, e, fmt.Sprintf(`tus.createAndUpload(document.querySelector('#file').files[0], {endpoint: '/files/', chunkSize: %d,
		adaptiveChunkSize: false, signal: ctl.signal})`, chunk))
	edited := pattern(size, 153) // same size, other bytes, the first 64 KiB included
	if err := os.WriteFile(path, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	setFiles(t, e.tab, "#file", path)
	r := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(document.querySelector('#file').files[0], {endpoint: '/files/', chunkSize: %d}))`, chunk)).result(t)
	if r.Resumed {
		t.Fatalf("%+v: a file edited in place resumed its old upload", r)
	}
	e.tusd.AssertStored(t, r.URL, edited)
}

// Storage hygiene: entries nobody created or continued for a week are dropped when an
// upload that stores its file reads storage (the first in a page, then every 10
// minutes; a small file sent whole reads none), and by listUploads; storageMaxAgeMs
// sets the age.
func TestStoragePruning(t *testing.T) {
	e := newEnv(t)
	eval[any](e, `(() => {
		const entry = (fp, daysAgo) => localStorage.setItem('tuswasm::' + fp, JSON.stringify({fingerprint: fp, url: location.origin + '/files/x' + fp,
			size: 5, createdAt: new Date(Date.now() - daysAgo * 86400000).toISOString().slice(0, 19) + 'Z'}))
		entry('tus2-old', 8)
		entry('tus2-recent', 1)
	})()`)
	r := eval[outcome](e, `run(() => tus.createAndUpload(makeFile(10, 154), {endpoint: '/files/', chunkSize: 4, adaptiveChunkSize: false}))`).result(t)
	e.tusd.AssertStored(t, r.URL, pattern(10, 154))
	left := eval[[]string](e, `Object.keys(localStorage).filter(k => k.startsWith('tuswasm::')).sort()`)
	if len(left) != 1 || left[0] != "tuswasm::tus2-recent" {
		t.Fatalf("localStorage keeps %v, want only the recent entry", left)
	}
	if n := eval[int](e, `tus.listUploads({storageMaxAgeMs: 3600000}).then(l => l.length)`); n != 0 {
		t.Fatalf("storageMaxAgeMs: one hour kept %d day-old entries", n)
	}
}

// The same small file started twice at once with useFileLock and waitForLock: sent
// whole, neither call takes the lock, so both upload it (two uploads, each
// byte-exact); nothing is mixed.
func TestSmallFileTwiceWithFileLock(t *testing.T) {
	e := newEnv(t)
	o := eval[outcome](e, `run(async () => {
		const file = makeFile(300000, 163)
		const opts = {endpoint: '/files/', useFileLock: true, waitForLock: true}
		const [a, b] = await Promise.all([tus.createAndUpload(file, opts), tus.createAndUpload(file, opts)])
		return [a.url, b.url]
	})`)
	var urls []string
	if mustJSON(t, o.Value, &urls); !o.OK || len(urls) != 2 || urls[0] == urls[1] {
		t.Fatalf("%+v", o)
	}
	for _, u := range urls {
		e.tusd.AssertStored(t, u, pattern(300000, 163))
	}
}
