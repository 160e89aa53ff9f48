package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// The package in Node.js (js/node.js, the "node" export condition): Node programs
// against the same build the browser tests load and a real tusd behind the fault
// proxy, every upload compared with the source by size and SHA-256. Node has no
// Chromium to share, so each test starts its own `node` processes.

// nodePrelude starts every Node program: the package, the endpoint, and helpers that
// print one JSON value per line on stdout.
const nodePrelude = `import { openAsBlob, createReadStream, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { Readable } from 'node:stream'
const tus = await import(process.env.TUSWASM_NODE)
const endpoint = process.env.ENDPOINT
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
// The peak RSS of this process's own memory: getrusage's counts the parent's at the
// exec too (Go starts children with CLONE_VFORK), /proc's VmHWM does not.
process.on('exit', () => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
    if (m) out({case: '__hwm', hwm: Number(m[1]) * 1024})
  } catch {}
})
const run = (f) => Promise.resolve().then(f).then((value) => ({ ok: true, value: value ?? null }),
  (e) => ({ ok: false, name: e?.name, code: typeof e?.code === 'string' ? e.code : undefined, status: e?.status, message: String(e?.message ?? e) }))
`

// nodeProc is one running Node program.
type nodeProc struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer // written by exec until Wait returns; read after done
	done           chan struct{}
	err            error
}

// startNodeScript runs nodePrelude + script with env (KEY=value) added; ENDPOINT is
// set by the caller when the program uploads.
func startNodeScript(t *testing.T, script string, env ...string) *nodeProc {
	t.Helper()
	return startNodeScriptIn(t, t.TempDir(), script, env...)
}

func fileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// wait waits (at most d) for the program to end by itself and returns its output
// lines; a program that fails or does not end fails the test.
func (p *nodeProc) wait(d time.Duration) []json.RawMessage {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("the Node program did not end within %v\nstdout:\n%s\nstderr:\n%s", d, p.stdout.String(), p.stderr.String())
	}
	if p.err != nil {
		p.t.Fatalf("the Node program failed: %v\nstdout:\n%s\nstderr:\n%s", p.err, p.stdout.String(), p.stderr.String())
	}
	var lines []json.RawMessage
	for _, l := range strings.Split(strings.TrimSpace(p.stdout.String()), "\n") {
		if l != "" {
			lines = append(lines, json.RawMessage(l))
		}
	}
	return lines
}

// outcomes waits for the program and decodes each line as a named outcome
// ({name, ...outcome}).
func (p *nodeProc) outcomes(d time.Duration) map[string]outcome {
	p.t.Helper()
	got := map[string]outcome{}
	for _, l := range p.wait(d) {
		var o struct {
			Case string `json:"case"`
			outcome
		}
		mustJSON(p.t, l, &o)
		got[o.Case] = o.outcome
	}
	return got
}

// kill ends the program with SIGKILL, as a crash or the OOM killer would.
func (p *nodeProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// maxRSS is the ended program's peak resident memory: its VmHWM (see nodePrelude),
// or else getrusage's figure, which also counts the test process's at the exec.
func (p *nodeProc) maxRSS() int64 {
	for _, l := range strings.Split(p.stdout.String(), "\n") {
		var h struct {
			Case string `json:"case"`
			HWM  int64  `json:"hwm"`
		}
		if json.Unmarshal([]byte(l), &h) == nil && h.Case == "__hwm" {
			return h.HWM
		}
	}
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024 // KiB on Linux
	}
	return -1
}

// nodeTusd is tusd behind the fault proxy on a loopback origin, for Node programs.
func nodeTusd(t *testing.T) (*tusdtest.Server, string) {
	t.Helper()
	_, proxy, origin := serveTusd(t, nil)
	return proxy, origin + "/files/"
}

// writePattern writes test.js's pattern(size, seed) to a file in dir.
func writePattern(t *testing.T, dir string, size int, seed uint32) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("p%d-%d.bin", size, seed))
	if err := os.WriteFile(path, pattern(size, seed), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkStored compares the stored upload at u with the file at path by size and
// SHA-256, streaming both (a 1 GiB file never sits in memory).
func checkStored(t *testing.T, srv *tusdtest.Server, u, path string) {
	t.Helper()
	n, got := srv.StoredSum(t, u)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	want, err := f.WriteTo(h)
	if err != nil {
		t.Fatal(err)
	}
	if n != want || got != hex.EncodeToString(h.Sum(nil)) {
		t.Fatalf("%s: stored %d bytes sha256 %.16s, want %d bytes sha256 %.16x", u, n, got, want, h.Sum(nil))
	}
}

func nodeResult(t *testing.T, name string, o outcome) result {
	t.Helper()
	if !o.OK {
		t.Fatalf("%s: %s %s: %s", name, o.Name, o.Code, o.Message)
	}
	return o.result(t)
}

// init() in Node without a web server: the module next to node.js by default, or
// given as a path (relative to the working directory), a file: URL (string or URL),
// its bytes (Buffer, ArrayBuffer) or a WebAssembly.Module; each then uploads a byte.
// Bad input is INVALID_OPTION before anything loads, a missing file INIT, and worker
// mode is refused. The package's exports map gives Node this entry for 'tuswasm'.
func TestNodeInit(t *testing.T) {
	srv, endpoint := nodeTusd(t)
	wasm := filepath.Join(buildDir, "js", "tuswasm.wasm")
	inits := map[string]string{
		"default":         `tus.init()`,
		"relative path":   `(process.chdir(process.env.BUILD), tus.init({wasmURL: 'js/tuswasm.wasm'}))`,
		"absolute path":   `tus.init({wasmURL: process.env.WASM})`,
		"file URL string": `tus.init({wasmURL: process.env.WASM_URL})`,
		"file URL":        `tus.init({wasmURL: new URL(process.env.WASM_URL)})`,
		"Buffer":          `tus.init({wasmURL: readFileSync(process.env.WASM)})`,
		"ArrayBuffer":     `tus.init({wasmURL: new Uint8Array(readFileSync(process.env.WASM)).buffer})`,
		"Module":          `WebAssembly.compile(readFileSync(process.env.WASM)).then((m) => tus.init({wasmURL: m}))`,
		// The package by name, resolved through its exports map ("node" condition).
		"package name": `import('tuswasm').then(async (byName) => {
			if (typeof byName.fileStorage !== 'function' || byName.init !== tus.init) throw new Error('tuswasm resolved to another entry than node.js')
			return byName.init()
		})`,
	}
	pkg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(pkg, "node_modules"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(buildDir, "js"), filepath.Join(pkg, "node_modules", "tuswasm")); err != nil {
		t.Fatal(err)
	}
	env := []string{"ENDPOINT=" + endpoint, "BUILD=" + buildDir, "WASM=" + wasm, "WASM_URL=" + fileURL(wasm)}
	for name, init := range inits {
		script := fmt.Sprintf(`out({case: 'init', ...await run(() => %s)})
out({case: 'upload', ...await run(() => tus.createAndUpload(new Blob(['x']), {endpoint}))})
`, init)
		dir := t.TempDir()
		if name == "package name" {
			dir = pkg // 'tuswasm' resolves from its node_modules
		}
		p := startNodeScriptIn(t, dir, script, env...)
		got := p.outcomes(30 * time.Second)
		if !got["init"].OK {
			t.Errorf("%s: init failed: %+v", name, got["init"])
			continue
		}
		if u := got["upload"]; !u.OK {
			t.Errorf("%s: the upload after init failed: %+v", name, u)
		} else {
			srv.AssertStored(t, u.result(t).URL, []byte("x"))
		}
	}

	// Refused before anything loads, then a failed load, then a working one.
	p := startNodeScript(t, `for (const [name, init] of [
	  ['worker', () => tus.init({worker: true})],
	  ['number', () => tus.init({wasmURL: 5})],
	  ['object', () => tus.init({wasmURL: {}})],
	  ['no bytes', () => tus.init({wasmURL: new Uint8Array(0)})],
	  ['unknown key', () => tus.init({wasmUrl: 'x'})],
	  ['missing file', () => tus.init({wasmURL: '/nonexistent/tuswasm.wasm'})],
	  ['not wasm', () => tus.init({wasmURL: new Uint8Array([1, 2, 3])})],
	  ['bytes', () => tus.init({wasmURL: readFileSync(process.env.WASM)})],
	  ['switch', () => tus.init({})],
	  ['relative endpoint', () => tus.createAndUpload(new Blob(['x']), {endpoint: '/files/'})],
	  ['bad storage path', () => tus.fileStorage('')],
	]) out({case: name, ...await run(init)})
`, env...)
	got := p.outcomes(30 * time.Second)
	for name, code := range map[string]string{"worker": "INVALID_OPTION", "number": "INVALID_OPTION", "object": "INVALID_OPTION",
		"no bytes": "INVALID_OPTION", "unknown key": "INVALID_OPTION", "missing file": "INIT", "not wasm": "INIT",
		"switch": "INVALID_OPTION", "relative endpoint": "INVALID_OPTION", "bad storage path": "INVALID_OPTION"} {
		if o := got[name]; o.OK || o.Name != "TusError" || o.Code != code {
			t.Errorf("init case %q: %+v, want TusError %s", name, o, code)
		}
	}
	if o := got["bytes"]; !o.OK {
		t.Errorf("init with the bytes after failed ones: %+v", o)
	}
	if m := got["worker"].Message; !strings.Contains(m, "worker_threads") {
		t.Errorf("worker: true in Node says %q: it should say what to do instead", m)
	}
}

// startNodeScriptIn is startNodeScript with its program in dir (so that imports of
// packages resolve from dir's node_modules).
func startNodeScriptIn(t *testing.T, dir, script string, env ...string) *nodeProc {
	t.Helper()
	main := filepath.Join(dir, "main.mjs")
	if err := os.WriteFile(main, []byte(nodePrelude+script), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &nodeProc{t: t, done: make(chan struct{})}
	p.cmd = exec.Command("node", main)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), "TUSWASM_NODE="+fileURL(filepath.Join(buildDir, "js", "node.js")))
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting node: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// Uploads from Node's own sources, byte-exact: 0 B, 1 B and 5 MiB Blobs from
// fs.openAsBlob, a File made from one, web ReadableStreams (a file's stream of
// unknown length, a Response.body of known length). Storage defaults to the
// process's memory: an upload paused through its signal continues (one POST). The
// program ends by itself once its uploads are done: nothing keeps Node's event loop
// alive.
func TestNodeUploads(t *testing.T) {
	srv, endpoint := nodeTusd(t)
	dir := t.TempDir()
	files := map[string]string{}
	for i, size := range []int{0, 1, 5 << 20} {
		files[fmt.Sprint(size)] = writePattern(t, dir, size, uint32(700+i))
	}
	big := files[fmt.Sprint(5<<20)]
	p := startNodeScript(t, `const big = process.env.BIG
for (const size of ['0', '1', '5242880']) {
  out({case: size, ...await run(async () => tus.createAndUpload(await openAsBlob(process.env['F' + size]), {endpoint}))})
}
out({case: 'File', ...await run(async () => tus.createAndUpload(new File([await openAsBlob(big)], 'big.bin', {lastModified: 1e12}), {endpoint, metadata: {filename: 'big.bin'}}))})
out({case: 'file stream', ...await run(() => tus.createAndUpload(Readable.toWeb(createReadStream(big)), {endpoint, chunkSize: 1 << 20}))})
out({case: 'Response.body', ...await run(async () => tus.createAndUpload(new Response(await openAsBlob(big)).body, {endpoint, uploadSize: 5242880, chunkSize: 1 << 20}))})
// Paused after its first chunk, then called again: the default storage resumes it.
const blob = new File([await openAsBlob(big)], 'paused.bin')
const ctl = new AbortController()
out({case: 'paused', ...await run(() => tus.createAndUpload(blob, {endpoint, chunkSize: 1 << 20, adaptiveChunkSize: false, signal: ctl.signal,
  onProgress: (sent) => sent >= 1 << 20 && ctl.abort()}))})
out({case: 'resumed', ...await run(() => tus.createAndUpload(blob, {endpoint, chunkSize: 1 << 20}))})
out({case: 'listed', ...await run(() => tus.listUploads())})
`, "ENDPOINT="+endpoint, "BIG="+big, "F0="+files["0"], "F1="+files["1"], "F5242880="+files["5242880"])
	start := time.Now()
	got := p.outcomes(20 * time.Second) // well under a request deadline (30 s): nothing keeps Node alive after the calls
	t.Logf("uploads in Node: %v, peak RSS %d MiB", time.Since(start).Round(time.Millisecond), p.maxRSS()>>20)
	for _, size := range []string{"0", "1", "5242880"} {
		checkStored(t, srv, nodeResult(t, size, got[size]).URL, files[size])
	}
	for _, name := range []string{"File", "file stream", "Response.body"} {
		checkStored(t, srv, nodeResult(t, name, got[name]).URL, big)
	}
	if got["File"].OK {
		if m := srv.Metadata(t, got["File"].result(t).URL); m["filename"] != "big.bin" {
			t.Errorf("metadata %v", m)
		}
	}
	if o := got["paused"]; o.OK || o.Name != "AbortError" {
		t.Fatalf("paused: %+v, want an AbortError", o)
	}
	r := nodeResult(t, "resumed", got["resumed"])
	checkStored(t, srv, r.URL, big)
	if !r.Resumed {
		t.Errorf("the paused upload was not resumed from the default (memory) storage: %+v", r)
	}
	if n := srv.Count(http.MethodPost); n != 7 {
		t.Errorf("%d uploads created, want 7 (one each, the paused one once)", n)
	}
	if string(got["listed"].Value) != "[]" {
		t.Errorf("listUploads after the uploads completed: %s", got["listed"].Value)
	}
}

// A 1 GiB file from disk uploads byte-exact with bounded memory, as a Blob
// (fs.openAsBlob: its slices go to node:http as they are, streamed from the file)
// and as a web ReadableStream of the file (Readable.toWeb: its sections are sent as
// views of the one buffer that holds them). Chunks of 16 MiB; the peak RSS (getrusage)
// is logged and bounded.
func TestNodeLargeFile(t *testing.T) {
	const size = 1 << 30
	maxRSS := map[string]int64{"Blob": 256 << 20, "ReadableStream": 256 << 20}
	srv, endpoint := nodeTusd(t)
	path := writeLargeFile(t, size)
	for _, source := range []string{"Blob", "ReadableStream"} {
		src := map[string]string{
			"Blob":           `await openAsBlob(process.env.FILE)`,
			"ReadableStream": `Readable.toWeb(createReadStream(process.env.FILE))`,
		}[source]
		before := srv.Count(http.MethodPatch)
		p := startNodeScript(t, fmt.Sprintf(`out({case: 'large', ...await run(async () => tus.createAndUpload(%s, {endpoint, chunkSize: 16 << 20, uploadSize: %d}))})
`, src, size), "ENDPOINT="+endpoint, "FILE="+path)
		start := time.Now()
		got := p.outcomes(3 * time.Minute)
		took := time.Since(start)
		rss := p.maxRSS()
		r := nodeResult(t, "1 GiB "+source, got["large"])
		t.Logf("1 GiB in Node from a %s: %v (%.0f MiB/s), peak RSS %d MiB, %d PATCHes", source, took.Round(time.Millisecond),
			float64(size>>20)/took.Seconds(), rss>>20, srv.Count(http.MethodPatch)-before)
		checkStored(t, srv, r.URL, path)
		if rss > maxRSS[source] {
			t.Errorf("%s: peak RSS %d MiB for a 1 GiB upload, want at most %d MiB", source, rss>>20, maxRSS[source]>>20)
		}
	}
}

// writeLargeFile writes size bytes to a temp file (removed after the test): 1 MiB
// pattern blocks, each starting with its own index, so that no block equals another
// and a misplaced block shows in the hash.
func writeLargeFile(t *testing.T, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "large.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := pattern(1<<20, 77)
	for i := int64(0); i < size; i += int64(len(block)) {
		copy(block, fmt.Sprintf("%016x", i))
		n := min(int64(len(block)), size-i)
		if _, err := f.Write(block[:n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// A connection reset in the middle of a PATCH body: the upload goes on and ends
// byte-exact, re-sending at most that chunk.
func TestNodeResetMidPatch(t *testing.T) {
	const size, chunk = 4 << 20, 1 << 20
	srv, endpoint := nodeTusd(t)
	path := writePattern(t, t.TempDir(), size, 720)
	srv.Inject(tusdtest.Truncate(tusdtest.Nth(http.MethodPatch, 2), chunk/4, true))
	p := startNodeScript(t, `out({case: 'reset', ...await run(async () => tus.createAndUpload(await openAsBlob(process.env.FILE),
  {endpoint, chunkSize: 1 << 20, adaptiveChunkSize: false, retry: {initialDelayMs: 50}}))})
`, "ENDPOINT="+endpoint, "FILE="+path)
	r := nodeResult(t, "reset", p.outcomes(60 * time.Second)["reset"])
	checkStored(t, srv, r.URL, path)
	resent := srv.BodyBytes.Load() - size
	t.Logf("reset mid-PATCH: %d bytes re-sent, %d PATCHes", resent, srv.Count(http.MethodPatch))
	if resent < 0 || resent > chunk {
		t.Errorf("%d bytes re-sent, want at most a chunk (%d)", resent, chunk)
	}
}

// A Node process killed (SIGKILL) in the middle of a PATCH body; a new process with
// the same fileStorage resumes the upload: one creation POST in all, byte-exact, at
// most a chunk re-sent. The storage file holds the URL and never the request's
// headers or metadata.
func TestNodeKilledProcessResumes(t *testing.T) {
	const size, chunk = 8 << 20, 1 << 20
	srv, endpoint := nodeTusd(t)
	dir := t.TempDir()
	path := writePattern(t, dir, size, 730)
	store := filepath.Join(dir, "state", "uploads.json")
	tap, fault := tusdtest.NewTap(tusdtest.Nth(http.MethodPatch, 3), chunk/2, true)
	srv.Inject(fault)
	script := `const file = new File([await openAsBlob(process.env.FILE)], 'movie.bin', {lastModified: 1700000000000})
out({case: 'upload', ...await run(() => tus.createAndUpload(file, {endpoint, chunkSize: 1 << 20, adaptiveChunkSize: false,
  storage: tus.fileStorage(process.env.STORE), headers: {Authorization: 'Bearer s3cret-token'}, metadata: {filename: 'secret-name.bin'},
  retry: {initialDelayMs: 50}}))})
`
	env := []string{"ENDPOINT=" + endpoint, "FILE=" + path, "STORE=" + store}
	first := startNodeScript(t, script, env...)
	waitChan(t, "the third PATCH to be half sent", tap.Reached)
	first.kill()
	tap.Release()
	stored, err := os.ReadFile(store)
	if err != nil {
		t.Fatalf("the killed process left no storage file: %v", err)
	}
	for _, secret := range []string{"s3cret-token", "secret-name", "Authorization"} {
		if bytes.Contains(stored, []byte(secret)) {
			t.Errorf("the storage file holds %q: %s", secret, stored)
		}
	}
	if fi, err := os.Stat(store); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("the storage file's mode is %v, want 0600", fi.Mode().Perm())
	}
	before := srv.BodyBytes.Load()
	second := startNodeScript(t, script, env...)
	r := nodeResult(t, "resumed upload", second.outcomes(60 * time.Second)["upload"])
	checkStored(t, srv, r.URL, path)
	sentAgain := srv.BodyBytes.Load() - size
	t.Logf("killed at %d bytes confirmed + half a PATCH; the new process sent %d bytes; %d bytes re-sent in all; %d POSTs",
		tap.Offset(), srv.BodyBytes.Load()-before, sentAgain, srv.Count(http.MethodPost))
	if !r.Resumed || srv.Count(http.MethodPost) != 1 {
		t.Fatalf("%+v after %d POSTs: the new process did not resume", r, srv.Count(http.MethodPost))
	}
	if sentAgain < 0 || sentAgain > chunk {
		t.Errorf("%d bytes re-sent, want at most a chunk (%d)", sentAgain, chunk)
	}
	// Completed: its entry is gone from the file, which is still valid JSON.
	var state struct{ Uploads map[string]json.RawMessage }
	b, _ := os.ReadFile(store)
	if err := json.Unmarshal(b, &state); err != nil || len(state.Uploads) != 0 {
		t.Errorf("the storage file after completion: %s (%v)", b, err)
	}
}

// fileStorage reads a broken file as empty (no crash; the next write replaces it),
// validates entries where they are read (an entry of nonsense is forgotten), and two
// adapters of one file in one process do not lose each other's writes.
func TestNodeFileStorage(t *testing.T) {
	srv, endpoint := nodeTusd(t)
	dir := t.TempDir()
	path := writePattern(t, dir, 3<<20, 740)
	store := filepath.Join(dir, "uploads.json")
	if err := os.WriteFile(store, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startNodeScript(t, `const store = process.env.STORE
out({case: 'broken', ...await run(async () => tus.createAndUpload(await openAsBlob(process.env.FILE), {endpoint, storage: tus.fileStorage(store)}))})
writeFileSync(store, '{"tuswasm": 1, "uploads": {"a": {"fingerprint": "a", "url": "javascript:alert(1)"}, "b": 5, "__proto__": {"x": 1}}}')
out({case: 'list nonsense', ...await run(() => tus.listUploads({storage: tus.fileStorage(store)}))})
const one = tus.fileStorage(store), two = tus.fileStorage(new URL('file://' + store))
await Promise.all(Array.from({length: 20}, (_, i) => (i % 2 ? one : two).set('fp' + i, {fingerprint: 'fp' + i, url: 'http://x/' + i, size: i})))
out({case: 'concurrent', ok: true, value: Object.keys(JSON.parse(readFileSync(store, 'utf8')).uploads).filter((k) => k.startsWith('fp')).length})
out({case: 'get unknown', ok: true, value: [await one.get('constructor'), await one.get('toString')]})
`, "ENDPOINT="+endpoint, "FILE="+path, "STORE="+store)
	got := p.outcomes(30 * time.Second)
	checkStored(t, srv, nodeResult(t, "broken", got["broken"]).URL, path)
	if o := got["list nonsense"]; !o.OK || string(o.Value) != "[]" {
		t.Errorf("listUploads over entries of nonsense: %+v, want []", o)
	}
	if o := got["concurrent"]; string(o.Value) != "20" {
		t.Errorf("20 concurrent writes through two adapters kept %s entries", o.Value)
	}
	if o := got["get unknown"]; string(o.Value) != "[null,null]" {
		t.Errorf("get('constructor'), get('toString') = %s, want [null,null] (no entry comes from Object.prototype)", o.Value)
	}
}

// Without CORS to stop anything, the engine's own rules keep the caller's headers to
// the origins it configured: an upload the endpoint creates on another origin
// (Location there) is sent there without them, and a redirect is refused, not
// followed (node:http follows none and shows the real 3xx).
func TestNodeCrossOrigin(t *testing.T) {
	srv, endpoint := nodeTusd(t)
	_, storage, storageOrigin := serveTusd(t, nil)
	var onStorage, onEndpoint headerLog
	storage.Inject(onStorage.fault)
	srv.Inject(onEndpoint.fault)
	var redirect atomic.Bool
	srv.Inject(tusdtest.Respond(func(r *http.Request) bool { return r.Method == http.MethodPost && redirect.Load() },
		http.StatusTemporaryRedirect, http.Header{"Location": {storageOrigin + "/files/"}}, ""))
	srv.Inject(tusdtest.CreateOn(storageOrigin + "/files/"))
	path := writePattern(t, t.TempDir(), 3<<20+5, 750)
	script := `out({case: 'upload', ...await run(async () => tus.createAndUpload(await openAsBlob(process.env.FILE),
  {endpoint, chunkSize: 1 << 20, storage: false, headers: {Authorization: 'Bearer s3cret'}, credentials: 'include'}))})
`
	env := []string{"ENDPOINT=" + endpoint, "FILE=" + path}
	r := nodeResult(t, "cross-origin", startNodeScript(t, script, env...).outcomes(30 * time.Second)["upload"])
	if !strings.HasPrefix(r.URL, storageOrigin) {
		t.Fatalf("upload landed at %s, not on the other origin", r.URL)
	}
	checkStored(t, storage, r.URL, path)
	if seen := onStorage.take(); len(seen) != 0 {
		t.Errorf("the other origin received %v", seen)
	}
	if seen := onEndpoint.take(); !slices.Contains(seen, "POST Authorization") {
		t.Errorf("the endpoint saw %v, want its Authorization header", seen)
	}

	// The program must also end soon after the failure: Go's runtime leaves a stopped
	// timer's setTimeout armed (the request's 30 s deadline here), which node.js unrefs.
	redirect.Store(true)
	before := len(storage.Requests())
	if o := startNodeScript(t, script, env...).outcomes(15 * time.Second)["upload"]; o.OK || o.Code != "REDIRECT" {
		t.Fatalf("a redirect in Node: %+v, want REDIRECT", o)
	}
	if n := len(storage.Requests()) - before; n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}

// useFileLock in Node takes an in-process lock: an upload with it succeeds, a second
// upload of the same file while the first runs is LOCKED, and one with waitForLock
// waits for the first to end, then uploads. (PATCH bodies are slowed to 4 MiB/s so
// that the first is still running.)
func TestNodeFileLock(t *testing.T) {
	srv, endpoint := nodeTusd(t)
	path := writePattern(t, t.TempDir(), 4<<20, 760)
	srv.Inject(tusdtest.Slow(func(r *http.Request) bool { return r.Method == http.MethodPatch }, 4<<20))
	p := startNodeScript(t, `const file = new File([await openAsBlob(process.env.FILE)], 'locked.bin')
const o = {endpoint, chunkSize: 1 << 20, adaptiveChunkSize: false, useFileLock: true, storage: false}
let created
const holding = new Promise((resolve) => { created = resolve })
const first = run(() => tus.createAndUpload(file, {...o, onUploadUrlAvailable: created}))
await Promise.race([holding, first]) // first settles early only when it failed
out({case: 'second', ...await run(() => tus.createAndUpload(file, o))})
const waiting = run(() => tus.createAndUpload(file, {...o, waitForLock: true}))
out({case: 'first', ...await first})
out({case: 'waited', ...await waiting})
`, "ENDPOINT="+endpoint, "FILE="+path)
	got := p.outcomes(60 * time.Second)
	checkStored(t, srv, nodeResult(t, "first", got["first"]).URL, path)
	checkStored(t, srv, nodeResult(t, "waited", got["waited"]).URL, path)
	if o := got["second"]; o.OK || o.Code != "LOCKED" {
		t.Errorf("the same file while the first upload holds the lock: %+v, want LOCKED", o)
	}
}

// tuswasm/compat by name in Node (its "node" condition loads node.js's setup): a
// tus-js-client program's Upload with a file from disk, and the storage option in
// place of tus-js-client's urlStorage (FileUrlStorage).
func TestNodeCompat(t *testing.T) {
	srv, endpoint := nodeTusd(t)
	dir := t.TempDir()
	path := writePattern(t, dir, 3<<20+1, 770)
	if err := os.MkdirAll(filepath.Join(dir, "node_modules"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(buildDir, "js"), filepath.Join(dir, "node_modules", "tuswasm")); err != nil {
		t.Fatal(err)
	}
	p := startNodeScriptIn(t, dir, `const compat = await import('tuswasm/compat')
const { fileStorage } = await import('tuswasm')
const file = new File([await openAsBlob(process.env.FILE)], 'compat.bin')
out({case: 'compat', ...await run(() => new Promise((resolve, reject) => {
  const up = new compat.Upload(file, {endpoint, chunkSize: 1 << 20, storage: fileStorage('uploads.json'),
    metadata: {filename: file.name}, onError: reject, onSuccess: () => resolve({url: up.url, size: file.size})})
  up.start()
}))})
`, "ENDPOINT="+endpoint, "FILE="+path)
	checkStored(t, srv, nodeResult(t, "compat", p.outcomes(30 * time.Second)["compat"]).URL, path)
}

// A Blob from fs.openAsBlob has no name and no date: its fingerprint (size, endpoint,
// sampled content) is the same in the next process, which resumes it from
// fileStorage.
func TestNodeBareBlobResumesInNextProcess(t *testing.T) {
	const size, chunk = 4 << 20, 1 << 20
	srv, endpoint := nodeTusd(t)
	dir := t.TempDir()
	path := writePattern(t, dir, size, 780)
	env := []string{"ENDPOINT=" + endpoint, "FILE=" + path, "STORE=" + filepath.Join(dir, "uploads.json")}
	first := startNodeScript(t, `const ctl = new AbortController()
out({case: 'paused', ...await run(async () => tus.createAndUpload(await openAsBlob(process.env.FILE), {endpoint, storage: tus.fileStorage(process.env.STORE),
  chunkSize: 1 << 20, adaptiveChunkSize: false, signal: ctl.signal, onProgress: (sent) => sent >= 2 << 20 && ctl.abort()}))})
`, env...).outcomes(30 * time.Second)
	if o := first["paused"]; o.OK || o.Name != "AbortError" {
		t.Fatalf("paused: %+v", o)
	}
	second := startNodeScript(t, `const blob = await openAsBlob(process.env.FILE)
const storage = tus.fileStorage(process.env.STORE)
out({case: 'found', ...await run(() => tus.findPreviousUploads(blob, {endpoint, storage}))})
out({case: 'resumed', ...await run(() => tus.createAndUpload(blob, {endpoint, storage, chunkSize: 1 << 20}))})
`, env...).outcomes(30 * time.Second)
	var found []map[string]any
	mustJSON(t, second["found"].Value, &found)
	r := nodeResult(t, "resumed", second["resumed"])
	checkStored(t, srv, r.URL, path)
	if len(found) != 1 || !r.Resumed || srv.Count(http.MethodPost) != 1 {
		t.Fatalf("found %v, %+v after %d POSTs: the next process did not resume the bare Blob", found, r, srv.Count(http.MethodPost))
	}
	if n := srv.BodyBytes.Load() - size; n < 0 || n > chunk {
		t.Errorf("%d bytes re-sent", n)
	}
}

// A ReadableStream paused in the middle of a PATCH body and resumed through the
// Upload class: its sections are views of one buffer (node.js's streamBody), which must
// not change under a request; the upload ends byte-exact with at most a chunk re-sent.
// PATCH bodies are slowed to 4 MiB/s, and the pause comes 100 ms into the third one.
// Both kinds of stream: a byte stream (blob.stream(), read into the buffer in place)
// and Readable.toWeb's.
func TestNodeStreamPausedMidBody(t *testing.T) {
	const size, chunk = 5<<20 + 3, 1 << 20
	path := writePattern(t, t.TempDir(), size, 790)
	for _, src := range []string{"(await openAsBlob(process.env.FILE)).stream()", "Readable.toWeb(createReadStream(process.env.FILE))"} {
		srv, endpoint := nodeTusd(t)
		srv.Inject(tusdtest.Slow(func(r *http.Request) bool { return r.Method == http.MethodPatch }, 4<<20))
		p := startNodeScript(t, fmt.Sprintf(`let paused = false
const up = new tus.Upload(%s, {endpoint, chunkSize: 1 << 20, adaptiveChunkSize: false, uploadDataDuringCreation: false,
  onProgress: (sent) => {
    if (paused || sent < 2 << 20) return
    paused = true
    setTimeout(() => up.pause().then(() => up.resume()), 100)
  }})
up.start()
out({case: 'stream', ...await run(() => up.done)})
`, src), "ENDPOINT="+endpoint, "FILE="+path)
		r := nodeResult(t, src, p.outcomes(60 * time.Second)["stream"])
		checkStored(t, srv, r.URL, path)
		resent := srv.BodyBytes.Load() - size
		t.Logf("%s: %d PATCHes, %d bytes re-sent", src, srv.Count(http.MethodPatch), resent)
		if resent < 0 || resent > chunk || srv.Count(http.MethodPost) != 1 {
			t.Errorf("%s: %d bytes re-sent, %d POSTs", src, resent, srv.Count(http.MethodPost))
		}
	}
}

// Checksums in Node (SubtleCrypto over a Blob slice, or over a stream section's
// bytes): a byte flipped in flight in the second PATCH is refused (460) by the
// verifying front and the chunk sent again; the upload ends byte-exact.
func TestNodeChecksum(t *testing.T) {
	const size, chunk = 4<<20 + 1, 1 << 20
	path := writePattern(t, t.TempDir(), size, 800)
	for _, src := range []string{"await openAsBlob(process.env.FILE)", "Readable.toWeb(createReadStream(process.env.FILE))"} {
		srv, endpoint := nodeTusd(t)
		srv.VerifyChecksums()
		srv.Inject(tusdtest.FlipByte(tusdtest.Nth(http.MethodPatch, 2)))
		p := startNodeScript(t, fmt.Sprintf(`out({case: 'sum', ...await run(async () => tus.createAndUpload(%s,
  {endpoint, chunkSize: 1 << 20, adaptiveChunkSize: false, uploadDataDuringCreation: false, checksum: 'sha256', uploadSize: %d}))})
`, src, size), "ENDPOINT="+endpoint, "FILE="+path)
		r := nodeResult(t, src, p.outcomes(30 * time.Second)["sum"])
		checkStored(t, srv, r.URL, path)
		if n := srv.BodyBytes.Load() - size; n != chunk {
			t.Errorf("%s: %d bytes re-sent, want the corrupted chunk (%d)", src, n, chunk)
		}
	}
}

// HTTPS through node:https, with the server's certificate trusted through
// NODE_EXTRA_CA_CERTS (what a user with a private CA does): a 3 MiB upload byte-exact.
func TestNodeHTTPS(t *testing.T) {
	backend := tusdtest.StartBackend(t, "", tusdtest.Options{})
	proxy := tusdtest.NewProxy(backend)
	// tusd, behind the plain-HTTP proxy, writes http:// Locations.
	proxy.Inject(tusdtest.Rewrite(func(r *http.Request) bool { return r.Method == http.MethodPost }, func(_ *int, h http.Header) {
		h.Set("Location", strings.Replace(h.Get("Location"), "http://", "https://", 1))
	}))
	mux := http.NewServeMux()
	mux.Handle("/files/", proxy)
	srv := httptest.NewUnstartedServer(mux)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	path := writePattern(t, dir, 3<<20, 810)
	p := startNodeScript(t, `out({case: 'https', ...await run(async () => tus.createAndUpload(await openAsBlob(process.env.FILE), {endpoint, chunkSize: 1 << 20}))})
`, "ENDPOINT="+srv.URL+"/files/", "FILE="+path, "NODE_EXTRA_CA_CERTS="+ca)
	r := nodeResult(t, "https", p.outcomes(30 * time.Second)["https"])
	if !strings.HasPrefix(r.URL, "https://") {
		t.Fatalf("upload at %s", r.URL)
	}
	checkStored(t, proxy, r.URL, path)
}

// The Go program dies mid-upload (what a Go exit does): the call fails with INTERNAL,
// the next call starts the module again and resumes the upload from the default
// storage, and the program still ends by itself (the dead call's keep-alive is let go).
func TestNodeModuleDies(t *testing.T) {
	const size = 4 << 20
	srv, endpoint := nodeTusd(t)
	path := writePattern(t, t.TempDir(), size, 820)
	p := startNodeScript(t, `const goes = []
const goRun = globalThis.Go.prototype.run
globalThis.Go.prototype.run = function (instance) { goes.push(this); return goRun.call(this, instance) }
const file = new File([await openAsBlob(process.env.FILE)], 'dies.bin')
const o = {endpoint, chunkSize: 1 << 20, adaptiveChunkSize: false}
let killed = false
out({case: 'died', ...await run(() => tus.createAndUpload(file, {...o, onProgress: (sent) => {
  if (killed || sent < 1 << 20) return
  killed = true
  const go = goes.at(-1)
  go.importObject.gojs['runtime.wasmExit'](0)
  go._resolveExitPromise()
}}))})
out({case: 'again', ...await run(() => tus.createAndUpload(file, o))})
`, "ENDPOINT="+endpoint, "FILE="+path)
	got := p.outcomes(20 * time.Second)
	if o := got["died"]; o.OK || o.Code != "INTERNAL" {
		t.Fatalf("the call whose module died: %+v, want INTERNAL", o)
	}
	r := nodeResult(t, "again", got["again"])
	checkStored(t, srv, r.URL, path)
	if !r.Resumed || srv.Count(http.MethodPost) != 1 {
		t.Errorf("%+v after %d POSTs: the new module did not resume the upload", r, srv.Count(http.MethodPost))
	}
}

// What a Node caller may pass by mistake or see change under it: Node's own
// stream.Readable and a Buffer (what tus-js-client takes in Node; not taken here:
// INVALID_OPTION, naming the wrapper to use), a file from fs.openAsBlob that grows during the upload (FILE_CHANGED, not
// retried until the budget ends), and a fileStorage whose directory cannot be made (a
// regular file is in the way): storage never fails an upload.
func TestNodeInputs(t *testing.T) {
	srv, endpoint := nodeTusd(t)
	dir := t.TempDir()
	path := writePattern(t, dir, 3<<20, 850)
	changing := writePattern(t, dir, 4<<20, 851)
	p := startNodeScript(t, `import { appendFileSync } from 'node:fs'
const f = process.env.FILE
out({case: 'Readable', ...await run(() => tus.createAndUpload(createReadStream(f), {endpoint, storage: false}))})
out({case: 'Buffer', ...await run(() => tus.createAndUpload(readFileSync(f), {endpoint, storage: false}))})
let changed = false
const blob = await openAsBlob(process.env.CHANGING)
out({case: 'changed', ...await run(() => tus.createAndUpload(blob, {endpoint, chunkSize: 1 << 20, adaptiveChunkSize: false, storage: false,
  retry: {initialDelayMs: 50}, onProgress: (sent) => {
    if (changed || sent < 1 << 20) return
    changed = true
    appendFileSync(process.env.CHANGING, 'more')
  }}))})
out({case: 'storage in the way', ...await run(async () => tus.createAndUpload(await openAsBlob(f),
  {endpoint, chunkSize: 1 << 20, storage: tus.fileStorage(f + '/state/uploads.json')}))})
`, "ENDPOINT="+endpoint, "FILE="+path, "CHANGING="+changing)
	got := p.outcomes(30 * time.Second)
	for name, hint := range map[string]string{"Readable": "Readable.toWeb(", "Buffer": "new Blob(["} {
		if o := got[name]; o.OK || o.Code != "INVALID_OPTION" || !strings.Contains(o.Message, hint) {
			t.Errorf("%s passed as the file: %+v, want INVALID_OPTION saying %s", name, o, hint)
		}
	}
	if o := got["changed"]; o.OK || o.Code != "FILE_CHANGED" {
		t.Errorf("a file that grew during its upload: %+v, want FILE_CHANGED", o)
	}
	checkStored(t, srv, nodeResult(t, "storage in the way", got["storage in the way"]).URL, path)
}

// A fileStorage entry whose URL was changed to another origin (the file is not
// trusted input): the next process does not send a single request there, not even a
// HEAD without headers, and creates the upload anew on the endpoint, byte-exact.
func TestNodeFileStorageOtherOrigin(t *testing.T) {
	const size = 4 << 20
	srv, endpoint := nodeTusd(t)
	_, other, otherOrigin := serveTusd(t, nil)
	dir := t.TempDir()
	path := writePattern(t, dir, size, 860)
	store := filepath.Join(dir, "uploads.json")
	env := []string{"ENDPOINT=" + endpoint, "FILE=" + path, "STORE=" + store}
	script := `const ctl = new AbortController()
const file = new File([await openAsBlob(process.env.FILE)], 'moved.bin', {lastModified: 1700000000000})
out({case: 'upload', ...await run(() => tus.createAndUpload(file, {endpoint, storage: tus.fileStorage(process.env.STORE),
  headers: {Authorization: 'Bearer s3cret'}, chunkSize: 1 << 20, adaptiveChunkSize: false, signal: ctl.signal,
  onProgress: (sent) => process.env.PAUSE && sent >= 2 << 20 && ctl.abort()}))})
`
	if o := startNodeScript(t, script, append(env, "PAUSE=1")...).outcomes(30 * time.Second)["upload"]; o.OK || o.Name != "AbortError" {
		t.Fatalf("paused: %+v", o)
	}
	b, err := os.ReadFile(store)
	if err != nil {
		t.Fatal(err)
	}
	origin := strings.TrimSuffix(endpoint, "/files/")
	if !bytes.Contains(b, []byte(origin)) {
		t.Fatalf("the storage file does not hold the upload's URL: %s", b)
	}
	if err := os.WriteFile(store, bytes.ReplaceAll(b, []byte(origin), []byte(otherOrigin)), 0o600); err != nil {
		t.Fatal(err)
	}
	r := nodeResult(t, "after the move", startNodeScript(t, script, env...).outcomes(30 * time.Second)["upload"])
	checkStored(t, srv, r.URL, path)
	if n := len(other.Requests()); n != 0 {
		t.Errorf("the other origin got %d requests: %v", n, other.Requests())
	}
	if r.Resumed || srv.Count(http.MethodPost) != 2 {
		t.Errorf("%+v after %d POSTs: want a new upload", r, srv.Count(http.MethodPost))
	}
}

// An Upload paused and resumed twenty times, mostly mid-body, from a stream (whose
// sections are views of the one buffer node:http sends) and from a file: each pause
// destroys its request, and the upload ends byte-exact.
func TestNodePauseResumeMany(t *testing.T) {
	const size = 6<<20 + 11
	path := writePattern(t, t.TempDir(), size, 870)
	for _, src := range []string{"await openAsBlob(process.env.FILE)", "Readable.toWeb(createReadStream(process.env.FILE))"} {
		srv, endpoint := nodeTusd(t)
		srv.Inject(tusdtest.Slow(func(r *http.Request) bool { return r.Method == http.MethodPatch }, 8<<20))
		p := startNodeScript(t, fmt.Sprintf(`let pauses = 0
const up = new tus.Upload(%s, {endpoint, chunkSize: 1 << 20, adaptiveChunkSize: false, uploadDataDuringCreation: false, uploadSize: %d,
  retry: {initialDelayMs: 20}, onUploadUrlAvailable: () => pauses || cycle()})
// Pauses 40-110 ms after each resume, from when the upload exists (a pause during
// the creation POST may create it again): a PATCH takes about 125 ms here, so most
// land in the middle of a body.
const cycle = () => setTimeout(() => up.pause().then(() => {
  pauses++
  up.resume()
  if (pauses < 20) cycle()
}), 40 + (pauses * 37) %% 70)
up.start()
out({case: 'many', ...await run(() => up.done)})
out({case: 'pauses', ok: true, value: pauses})
`, src, size), "ENDPOINT="+endpoint, "FILE="+path)
		got := p.outcomes(60 * time.Second)
		r := nodeResult(t, src, got["many"])
		checkStored(t, srv, r.URL, path)
		t.Logf("%s: %s pauses, %d PATCHes, %d POSTs", src, got["pauses"].Value, srv.Count(http.MethodPatch), srv.Count(http.MethodPost))
		if srv.Count(http.MethodPost) != 1 {
			t.Errorf("%s: %d POSTs", src, srv.Count(http.MethodPost))
		}
	}
}

// A fileStorage path that is a symlink (state kept on another volume, say): each
// change replaces the file the link names, and the link stays a link, so that the
// next process, reading through it, resumes.
func TestNodeFileStorageSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "volume", "uploads.json")
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte(`{"tuswasm": 1, "uploads": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "uploads.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	p := startNodeScript(t, `const s = tus.fileStorage(process.env.LINK)
out({case: 'set', ...await run(() => s.set('fp', {fingerprint: 'fp', url: 'http://127.0.0.1:1/files/a', size: 1}))})
out({case: 'get', ...await run(() => tus.fileStorage(process.env.LINK).get('fp'))})
`, "LINK="+link)
	got := p.outcomes(20 * time.Second)
	if o := got["set"]; !o.OK {
		t.Fatalf("set: %+v", o)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the storage path is no longer a symlink (%v): the change went beside the file it named", err)
	}
	b, err := os.ReadFile(target)
	if err != nil || !bytes.Contains(b, []byte(`"fp"`)) {
		t.Errorf("the symlink's target after a change: %s (%v)", b, err)
	}
	if o := got["get"]; !o.OK || !bytes.Contains(o.Value, []byte(`"fp"`)) {
		t.Errorf("get through the link: %+v", o)
	}
	if fi, err := os.Stat(target); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("the target's mode is %v, want 0600", fi.Mode().Perm())
	}
}
