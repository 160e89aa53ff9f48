package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/internal/tusdserver"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// The tus servers users run, each with one scenario set in Chromium: tusd v2 with its
// file store and with its S3 store (against gofakes3), @tus/server 2.x with
// @tus/file-store, and @uploadx/core 7.x's tus handler (e2e/servers: pinned, installed
// with npm ci). The fault proxy sits in front of each as it does for tusd elsewhere.
// TestMain prints the summary line.

// upstream is one tus server: where it listens, its creation path, what it offers,
// and how its stored bytes are read back.
type upstream struct {
	name     string
	endpoint string // the creation path on the test page's origin
	// tusd's own, for the proxy that knows it; otherwise addr and open.
	backend *tusdtest.Backend
	addr    string
	open    func(uploadURL string) (io.ReadCloser, error)
	// what the server announces and speaks
	concat, deferLength, ietf bool
	checksums                 []string // algorithms it verifies itself
	// metadata is what every upload sends: @uploadx/core refuses (403) every request to
	// an upload created without a file name.
	metadata string
	// emptyFails: the server cannot store a 0-byte upload; the call must end with an
	// HTTP error, not a success.
	emptyFails bool
}

// proxy puts a fresh fault proxy in front of the server.
func (up *upstream) proxy() *tusdtest.Server {
	if up.backend != nil {
		return tusdtest.NewProxy(up.backend)
	}
	return tusdtest.NewProxyTo(up.addr, up.open)
}

// startUpstreams starts the four servers for the duration of t.
func startUpstreams(t *testing.T) []*upstream {
	t.Helper()
	s3, err := tusdserver.StartS3()
	if err != nil {
		t.Fatalf("starting the S3 server: %v", err)
	}
	t.Cleanup(s3.Close)
	named := `{filename: 'f.bin'}`
	return []*upstream{
		{name: "tusd-file", endpoint: "/files/", metadata: named, concat: true, deferLength: true, ietf: true,
			backend: tusdtest.StartBackend(t, "", tusdtest.Options{EnableExperimentalProtocol: true})},
		// tusd's s3store stores a 0-byte upload with an UploadPart of no body, sent
		// without Content-Length, which gofakes3 refuses (411): tusd answers 500.
		{name: "tusd-s3", endpoint: "/files/", metadata: named, concat: true, deferLength: true, ietf: true, emptyFails: true,
			backend: tusdtest.StartBackend(t, "", tusdtest.Options{EnableExperimentalProtocol: true, S3: s3})},
		startNode(t, "tus-node", &upstream{endpoint: "/files", metadata: named, deferLength: true}),
		startNode(t, "uploadx", &upstream{endpoint: "/files", metadata: named, checksums: []string{"sha1", "sha256"}}),
	}
}

// startNode starts e2e/servers/serve.mjs with the server kind, storing in a temp dir.
func startNode(t *testing.T, kind string, up *upstream) *upstream {
	t.Helper()
	dir := filepath.Join(repoRoot, "e2e", "servers")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Fatalf("the Node servers are not installed (make e2e runs npm ci in %s): %v", dir, err)
	}
	store := t.TempDir()
	cmd := exec.Command("node", "serve.mjs", kind, store)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", kind, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				port <- p
			}
		}
	}()
	select {
	case p := <-port:
		up.addr = "127.0.0.1:" + p
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start", kind)
	}
	up.name = kind
	up.open = func(uploadURL string) (io.ReadCloser, error) {
		return os.Open(filepath.Join(store, filepath.Base(uploadURL)))
	}
	return up
}

// serverRun is one scenario against one server.
type serverRun struct {
	*env
	up *upstream
}

// opts is the JS options every upload of the run takes, plus more.
func (s *serverRun) opts(more string) string {
	return fmt.Sprintf(`{endpoint: %q, metadata: %s, retry: {initialDelayMs: 50, maxDelayMs: 1000}%s}`, s.up.endpoint, s.up.metadata, more)
}

// upload runs createAndUpload of the pattern file in the page and checks it.
func (s *serverRun) upload(t *testing.T, size int, seed uint32, more string) result {
	t.Helper()
	o := eval[outcome](s.env, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, %d, 'f.bin'), %s))`, size, seed, s.opts(more)))
	r := o.result(t)
	s.tusd.AssertStored(t, r.URL, pattern(size, seed))
	return r
}

// resent is what reached the server beyond size bytes.
func (s *serverRun) resent(t *testing.T, size int, limit int64) {
	t.Helper()
	if n := s.tusd.BodyBytes.Load() - int64(size); n < 0 || n > limit {
		t.Errorf("%d bytes re-sent, want at most %d", n, limit)
	}
}

const serverChunk = 1 << 20

// serverScenarios is the set each server runs; skip returns why a scenario does not
// apply to a server ("" when it does).
var serverScenarios = []struct {
	name string
	run  func(t *testing.T, s *serverRun)
}{
	{"sizes", func(t *testing.T, s *serverRun) {
		if s.up.emptyFails {
			o := eval[outcome](s.env, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(0, 500, 'f.bin'), %s))`, s.opts("")))
			if o.OK || o.Code != "HTTP" || o.Status != http.StatusInternalServerError {
				t.Fatalf("0 bytes to a server that cannot store them: %+v, want HTTP 500", o)
			}
		} else {
			s.upload(t, 0, 500, "")
		}
		s.upload(t, 1, 501, "")
		s.upload(t, 5<<20, 502, "")
	}},
	{"pause mid-body (signal)", func(t *testing.T, s *serverRun) {
		const size = 6 * serverChunk
		tap := s.slowThird()
		startIn(s.env, s.tab, fmt.Sprintf(`bg('p', () => { window.ctl = new AbortController()
			return tus.createAndUpload(makeFile(%d, 510, 'f.bin'), %s) })`, size, s.opts(fmt.Sprintf(`, chunkSize: %d, signal: ctl.signal`, serverChunk))))
		waitChan(t, "the third PATCH to be half sent", tap.Reached)
		eval[any](s.env, `ctl.abort()`)
		if o := s.waitDone("p"); o.OK || o.Name != "AbortError" {
			t.Fatalf("paused: %+v", o)
		}
		r := s.upload(t, size, 510, fmt.Sprintf(`, chunkSize: %d`, serverChunk))
		if !r.Resumed || s.tusd.Count(http.MethodPost) != 1 {
			t.Fatalf("%+v after %d POSTs: the pause was not resumed", r, s.tusd.Count(http.MethodPost))
		}
		s.resent(t, size, serverChunk)
	}},
	{"pause mid-body (Upload)", func(t *testing.T, s *serverRun) {
		const size = 6 * serverChunk
		tap := s.slowThird()
		startIn(s.env, s.tab, fmt.Sprintf(`bg('p', () => { window.up = new tus.Upload(makeFile(%d, 511, 'f.bin'), %s)
			up.start()
			return up.done })`, size, s.opts(fmt.Sprintf(`, chunkSize: %d, storage: false`, serverChunk))))
		waitChan(t, "the third PATCH to be half sent", tap.Reached)
		eval[any](s.env, `up.pause().then(() => up.resume())`)
		r := s.waitDone("p").result(t)
		s.tusd.AssertStored(t, r.URL, pattern(size, 511))
		s.resent(t, size, serverChunk)
	}},
	{"reload", func(t *testing.T, s *serverRun) {
		const size = 4 * serverChunk
		h := holdNth(t, s.tusd, http.MethodPatch, 2, true)
		start := fmt.Sprintf(`bg('r', () => tus.createAndUpload(makeFile(%d, 512, 'f.bin'), %s))`, size, s.opts(fmt.Sprintf(`, chunkSize: %d`, serverChunk)))
		startIn(s.env, s.tab, start)
		waitChan(t, "the PATCH before the reload", h.arrived)
		s.reload(s.tab)
		waitChan(t, "the reload to abort the PATCH", h.aborted)
		startIn(s.env, s.tab, start)
		r := s.waitDone("r").result(t)
		s.tusd.AssertStored(t, r.URL, pattern(size, 512))
		if n := s.tusd.Count(http.MethodPost); n != 1 || !r.Resumed {
			t.Fatalf("%d uploads created, resumed %v: the reloaded page did not resume", n, r.Resumed)
		}
		s.resent(t, size, serverChunk)
	}},
	{"reset mid-PATCH", func(t *testing.T, s *serverRun) {
		const size = 4 * serverChunk
		s.tusd.Inject(tusdtest.Truncate(tusdtest.Nth(http.MethodPatch, 2), serverChunk/4, true))
		s.upload(t, size, 513, fmt.Sprintf(`, chunkSize: %d, adaptiveChunkSize: false`, serverChunk))
		s.resent(t, size, serverChunk)
	}},
	{"5xx burst", func(t *testing.T, s *serverRun) {
		const size = 4 * serverChunk
		var mu sync.Mutex
		started, n := false, 0
		second := tusdtest.Nth(http.MethodPatch, 2)
		s.tusd.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			mu.Lock()
			defer mu.Unlock()
			if !started && !second(r) || n >= 4 {
				return false
			}
			started, n = true, n+1
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader([]int{500, 502, 503, 504}[n-1])
			return true
		})
		s.upload(t, size, 514, fmt.Sprintf(`, chunkSize: %d, adaptiveChunkSize: false`, serverChunk))
		s.resent(t, size, serverChunk)
	}},
	{"offline 10 s", func(t *testing.T, s *serverRun) {
		const size = 4 * serverChunk
		h := holdNth(t, s.tusd, http.MethodPatch, 2, true)
		startIn(s.env, s.tab, fmt.Sprintf(`bg('o', () => tus.createAndUpload(makeFile(%d, 515, 'f.bin'), %s))`, size, s.opts(fmt.Sprintf(`, chunkSize: %d, adaptiveChunkSize: false`, serverChunk))))
		waitChan(t, "the PATCH before going offline", h.arrived)
		s.setOffline(true)
		h.Release()
		time.Sleep(10 * time.Second) // the outage itself, not synchronisation
		s.setOffline(false)
		r := s.waitDone("o").result(t)
		s.tusd.AssertStored(t, r.URL, pattern(size, 515))
		s.resent(t, size, serverChunk)
	}},
	{"deleted, re-created", func(t *testing.T, s *serverRun) {
		const size = 4 * serverChunk
		file := fmt.Sprintf(`makeFile(%d, 516, 'f.bin')`, size)
		h := holdNth(t, s.tusd, http.MethodPatch, 2, true)
		startIn(s.env, s.tab, fmt.Sprintf(`bg('d', () => { window.ctl = new AbortController()
			return tus.createAndUpload(%s, %s) })`, file, s.opts(fmt.Sprintf(`, chunkSize: %d, signal: ctl.signal`, serverChunk))))
		waitChan(t, "the second PATCH", h.arrived)
		eval[any](s.env, `ctl.abort()`)
		s.waitDone("d")
		stored := eval[string](s.env, `tus.listUploads().then((l) => l[0].url)`)
		del, _ := http.NewRequest(http.MethodDelete, stored, nil)
		del.Header.Set("Tus-Resumable", "1.0.0")
		if resp, err := http.DefaultClient.Do(del); err != nil || resp.StatusCode >= 300 {
			t.Fatalf("deleting the upload on the server: %v %v", resp, err)
		}
		r := s.upload(t, size, 516, fmt.Sprintf(`, chunkSize: %d`, serverChunk))
		if r.Resumed || r.URL == stored || s.tusd.Count(http.MethodPost) != 2 {
			t.Fatalf("%+v after %d POSTs: want a new upload", r, s.tusd.Count(http.MethodPost))
		}
	}},
	{"terminate", func(t *testing.T, s *serverRun) {
		// One created and never sent, one complete (@uploadx/core's last reply is 200
		// with a body).
		created := eval[string](s.env, fmt.Sprintf(`tus.create(makeFile(%d, 517, 'f.bin'), %s)`, serverChunk, s.opts("")))
		complete := s.upload(t, 2*serverChunk+3, 526, fmt.Sprintf(`, chunkSize: %d`, serverChunk)).URL
		for _, url := range []string{created, complete} {
			eval[any](s.env, fmt.Sprintf(`tus.terminate(%q)`, url))
			resp, err := http.DefaultClient.Do(headReq(t, url))
			if err != nil || resp.StatusCode < 400 {
				t.Fatalf("the terminated upload answers HEAD with %v %v", resp.Status, err)
			}
		}
	}},
	{"parallel", func(t *testing.T, s *serverRun) {
		const size = 4 * serverChunk // parts under S3's 5 MiB minimum: gofakes3 cannot copy larger ones
		o := eval[outcome](s.env, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 518, 'f.bin'), %s))`, size, s.opts(`, parallelUploads: 4`)))
		r := o.result(t)
		s.tusd.AssertStored(t, r.URL, pattern(size, 518))
		var got struct{ Parts int }
		mustJSON(t, o.Value, &got)
		if want := map[bool]int{true: 4, false: 1}[s.up.concat]; got.Parts != want {
			t.Fatalf("%d parts, want %d (concatenation %v)", got.Parts, want, s.up.concat)
		}
	}},
	{"streams", func(t *testing.T, s *serverRun) {
		// Short ones (the length known from the first chunk: declared once, in the
		// creation, which @tus/server insists on) and one of known length (uploadSize)
		// work everywhere; one of unknown length needs creation-defer-length.
		for i, more := range []string{"", ", uploadDataDuringCreation: false", fmt.Sprintf(", uploadSize: %d", 3*serverChunk+5)} {
			size := map[bool]int{true: 3*serverChunk + 5, false: 1000}[i == 2]
			o := eval[outcome](s.env, fmt.Sprintf(`run(() => tus.createAndUpload(%s, %s))`, streamJS(size, 527+i), s.opts(fmt.Sprintf(`, chunkSize: %d%s`, serverChunk, more))))
			s.tusd.AssertStored(t, o.result(t).URL, pattern(size, uint32(527+i)))
		}
		const size = 3*serverChunk + 5
		posts := s.tusd.Count(http.MethodPost)
		o := eval[outcome](s.env, fmt.Sprintf(`run(() => tus.createAndUpload(%s, %s))`, streamJS(size, 519), s.opts(fmt.Sprintf(`, chunkSize: %d`, serverChunk))))
		if !s.up.deferLength {
			if o.OK || o.Code != "CAPABILITY" || s.tusd.Count(http.MethodPost) != posts {
				t.Fatalf("a stream of unknown length to a server without creation-defer-length: %+v, want CAPABILITY before any creation", o)
			}
			return
		}
		s.tusd.AssertStored(t, o.result(t).URL, pattern(size, 519))
	}},
	{"checksum", func(t *testing.T, s *serverRun) {
		const size = 4 * serverChunk
		if len(s.up.checksums) == 0 {
			o := eval[outcome](s.env, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 520, 'f.bin'), %s))`, size, s.opts(`, checksum: 'sha256'`)))
			if o.OK || o.Code != "CAPABILITY" || s.tusd.Count(http.MethodPost) != 0 {
				t.Fatalf("checksum to a server without the extension: %+v, want CAPABILITY before any creation", o)
			}
			return
		}
		// A byte flipped in flight in the second PATCH: the server's own verification
		// answers 460 and the chunk is sent again.
		s.tusd.Inject(tusdtest.FlipByte(tusdtest.Nth(http.MethodPatch, 2)))
		for i, alg := range s.up.checksums {
			before := s.tusd.BodyBytes.Load()
			s.upload(t, size, uint32(521+i), fmt.Sprintf(`, chunkSize: %d, adaptiveChunkSize: false, checksum: %q`, serverChunk, alg))
			if i == 0 && !s.sawStatus(http.MethodPatch, 460) {
				t.Fatalf("%s: the corrupted chunk was not refused with 460", alg)
			}
			if n := s.tusd.BodyBytes.Load() - before - size; i == 0 && n != serverChunk || i > 0 && n != 0 {
				t.Fatalf("%s: %d bytes re-sent", alg, n)
			}
		}
	}},
	{"IETF draft", func(t *testing.T, s *serverRun) {
		const size = 4 * serverChunk
		s.tusd.Inject(tusdtest.Truncate(tusdtest.Nth(http.MethodPatch, 2), serverChunk/4, true))
		s.upload(t, size, 525, fmt.Sprintf(`, chunkSize: %d, adaptiveChunkSize: false, protocol: 'ietf-draft-05'`, serverChunk))
		s.resent(t, size, serverChunk)
	}},
}

// slowThird slows every PATCH body to 4 MiB/s and returns a tap that fires when half
// of the third PATCH's body has reached the server: a pause then lands mid-body.
func (s *serverRun) slowThird() *tusdtest.Tap {
	s.tusd.Inject(tusdtest.Slow(func(r *http.Request) bool { return r.Method == http.MethodPatch }, 4<<20))
	tap, fault := tusdtest.NewTap(tusdtest.Nth(http.MethodPatch, 3), serverChunk/2, false)
	s.tusd.Inject(fault)
	return tap
}

// serversSummary counts, per server, the scenarios that ran and passed.
var serversSummary struct {
	sync.Mutex
	order       []string
	ran, passed map[string]int
}

func printServersSummary() {
	m := &serversSummary
	m.Lock()
	defer m.Unlock()
	if len(m.order) == 0 {
		return
	}
	var parts []string
	for _, name := range m.order {
		parts = append(parts, fmt.Sprintf("%s %d/%d", name, m.passed[name], m.ran[name]))
	}
	fmt.Printf("servers: %s\n", strings.Join(parts, ", "))
}

func countServerRun(server string, passed bool) {
	m := &serversSummary
	m.Lock()
	defer m.Unlock()
	if m.ran == nil {
		m.ran, m.passed = map[string]int{}, map[string]int{}
	}
	if m.ran[server] == 0 {
		m.order = append(m.order, server)
	}
	m.ran[server]++
	if passed {
		m.passed[server]++
	}
}

func TestServers(t *testing.T) {
	for _, up := range startUpstreams(t) {
		t.Run(up.name, func(t *testing.T) {
			for _, sc := range serverScenarios {
				if sc.name == "IETF draft" && !up.ietf {
					continue // no server but tusd speaks it
				}
				t.Run(sc.name, func(t *testing.T) {
					defer func() { countServerRun(up.name, !t.Failed()) }()
					proxy := up.proxy()
					sc.run(t, &serverRun{env: newEnvWithProxy(t, up.backend, proxy), up: up})
				})
			}
		})
	}
}
