package e2e

import (
	"cmp"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// The fault matrix: every fault a real network or server produces, at three sizes,
// each upload checked byte for byte on the server and its re-sent bytes counted at the
// proxy. TestMain prints the summary line.

const matrixChunk = 1 << 20

var matrixSizes = []struct {
	name string
	size int
}{
	{"chunk+1", matrixChunk + 1},
	{"10chunks", 10 * matrixChunk},
	{"64MiB", 64 << 20},
}

// matrixSummary accumulates over the run; perProtocol counts scenarios by protocol
// (parallel ones among tus-v1's).
var matrixSummary struct {
	sync.Mutex
	scenarios, complete, corrupt int
	maxResent                    int64
	perProtocol                  map[string]int
	parallel                     int
}

func printMatrixSummary() {
	m := &matrixSummary
	m.Lock()
	defer m.Unlock()
	if m.scenarios > 0 {
		fmt.Printf("fault-matrix: %d scenarios (tus-v1 %d incl. %d parallel, ietf-draft-05 %d), %d complete, %d corrupt, max resent %d bytes\n",
			m.scenarios, m.perProtocol[engine.ProtocolTus1], m.parallel, m.perProtocol[engine.ProtocolIETFDraft05], m.complete, m.corrupt, m.maxResent)
	}
}

// scenario is one upload under one fault.
type scenario struct {
	*env
	size int
	seed uint32
	k    int // the PATCH (1-based) the fault hits: the middle one
	// parts: a parallel upload in this many parts (0: one upload).
	parts int
	// protocol: the JS option (empty: the default, tus-v1).
	protocol string
	// afterCheck, when set, asserts that the fault really happened.
	afterCheck func()
}

// start begins the upload in the background (key "m"); opts are extra JS options.
func (s *scenario) start(opts string) {
	if s.parts > 1 {
		opts = strings.TrimPrefix(opts+fmt.Sprintf(", parallelUploads: %d", s.parts), ", ")
	}
	if s.protocol != "" {
		opts = strings.TrimPrefix(opts+fmt.Sprintf(", protocol: '%s'", s.protocol), ", ")
	}
	startIn(s.env, s.tab, fmt.Sprintf(`bg('m', () => tus.createAndUpload(makeFile(%d, %d, 'm.bin'),
		{endpoint: '/files/', chunkSize: %d, retry: {initialDelayMs: 50, maxDelayMs: 1000}, %s}))`, s.size, s.seed, matrixChunk, opts))
}

// creations is how many POSTs the upload needs: one, or one per part and the final.
func (s *scenario) creations() int {
	if s.parts > 1 {
		return s.parts + 1
	}
	return 1
}

type matrixFault struct {
	kind string // faults_test.go
	// run arms the fault, starts the upload (s.start) and drives the fault to its end.
	run func(t *testing.T, s *scenario)
}

func (f matrixFault) name() string { return faultScenario[f.kind] }

var matrixFaults = []matrixFault{
	{kReset, func(t *testing.T, s *scenario) {
		s.tusd.Inject(tusdtest.Truncate(tusdtest.Nth(http.MethodPatch, s.k), matrixChunk/4, true))
		s.start("")
	}},
	{k5xx, func(t *testing.T, s *scenario) {
		// Five failures in a row (PATCH, then the HEADs after it), with and without
		// Retry-After: the default budget of 5 just holds.
		burst := []struct {
			status int
			retry  string
		}{{500, ""}, {502, ""}, {503, "1"}, {504, ""}, {503, "0"}}
		var mu sync.Mutex
		started, n := false, 0
		afterK := tusdtest.Nth(http.MethodPatch, s.k)
		s.tusd.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			mu.Lock()
			defer mu.Unlock()
			if !started && !afterK(r) || n >= len(burst) {
				return false
			}
			started = true
			b := burst[n]
			n++
			if b.retry != "" {
				w.Header().Set("Retry-After", b.retry)
			}
			w.WriteHeader(b.status)
			return true
		})
		s.start("")
	}},
	{k409, func(t *testing.T, s *scenario) {
		s.tusd.Inject(tusdtest.Respond(tusdtest.Nth(http.MethodPatch, s.k), http.StatusConflict, nil, "ERR_MISMATCHED_OFFSET: mismatched offset"))
		s.start("")
	}},
	{kLock, func(t *testing.T, s *scenario) {
		// tusd sits mid-PATCH holding the lock; a HEAD from elsewhere makes it cancel
		// the PATCH (400 ERR_UPLOAD_INTERRUPTED).
		tap, fault := tusdtest.NewTap(tusdtest.Nth(http.MethodPatch, s.k), matrixChunk/4, true)
		s.tusd.Inject(fault)
		s.start("")
		waitChan(t, "the tapped PATCH", tap.Reached)
		stored := filepath.Join(s.backend.Dir, path.Base(tap.Path()))
		waitFor(t, "tusd to store bytes of the tapped PATCH", 10*time.Second, func() bool {
			fi, err := os.Stat(stored)
			return err == nil && fi.Size() > tap.Offset()
		})
		resp, err := http.DefaultClient.Do(headReq(t, "http://"+s.backend.Addr+tap.Path()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tap.Release()
		s.afterCheck = func() {
			if !s.sawStatus(http.MethodPatch, http.StatusBadRequest) {
				t.Error("the PATCH was not interrupted (no 400 ERR_UPLOAD_INTERRUPTED)")
			}
		}
	}},
	{kPartial, func(t *testing.T, s *scenario) {
		s.tusd.Inject(tusdtest.Truncate(tusdtest.Nth(http.MethodPatch, s.k), matrixChunk/3, false))
		s.start("")
	}},
	{kRestart, func(t *testing.T, s *scenario) {
		// The rest of the body is held, so that the PATCH cannot complete (and, the last
		// one, end the upload) before tusd goes down: that race left no request to find
		// the server down.
		tap, fault := tusdtest.NewTap(tusdtest.Nth(http.MethodPatch, s.k), matrixChunk/4, true)
		s.tusd.Inject(fault)
		s.start("")
		waitChan(t, "the PATCH to be half sent", tap.Reached)
		s.backend.Stop()
		tap.Release()
		waitFor(t, "a client request to find the server down", 30*time.Second, func() bool {
			return s.sawStatus("", http.StatusBadGateway)
		})
		if err := s.backend.Start(); err != nil {
			t.Fatalf("restarting tusd on %s: %v", s.backend.Addr, err)
		}
	}},
	{kOffline, func(t *testing.T, s *scenario) {
		h := holdNth(t, s.tusd, http.MethodPatch, s.k, true)
		s.start("")
		waitChan(t, "the PATCH before going offline", h.arrived)
		s.setOffline(true)
		h.Release() // its reply cannot reach an offline browser
		before := len(s.tusd.Requests())
		time.Sleep(10 * time.Second) // the outage itself, not synchronisation
		if n := len(s.tusd.Requests()) - before; n > 1 {
			t.Errorf("%d requests reached the server while the browser was offline", n)
		}
		s.setOffline(false)
	}},
	{kReload, func(t *testing.T, s *scenario) {
		h := holdNth(t, s.tusd, http.MethodPatch, s.k, true)
		s.start("")
		waitChan(t, "the PATCH before the reload", h.arrived)
		s.reload(s.tab)
		waitChan(t, "the reload to abort the PATCH", h.aborted)
		s.start("") // the new page picks the upload up from localStorage
		s.afterCheck = func() {
			if n := s.tusd.Count(http.MethodPost); n != s.creations() {
				t.Errorf("%d uploads created, want %d: the reloaded page did not resume", n, s.creations())
			}
		}
	}},
	{kSlow, func(t *testing.T, s *scenario) {
		// The PATCH's reply never comes; the per-request timeout gives up on it.
		holdNth(t, s.tusd, http.MethodPatch, s.k, true)
		s.start("requestTimeoutMs: 2000")
	}},
}

func TestFaultMatrix(t *testing.T) { faultMatrix(t, "") }

// TestFaultMatrixDraft is the same matrix in the IETF draft dialect: the same loop
// under other headers (tusd's draft mode also cancels a PATCH for a competing HEAD).
func TestFaultMatrixDraft(t *testing.T) { faultMatrix(t, engine.ProtocolIETFDraft05) }

func faultMatrix(t *testing.T, protocol string) {
	for _, f := range matrixFaults {
		for i, sz := range matrixSizes {
			t.Run(f.name()+"/"+sz.name, func(t *testing.T) {
				s := &scenario{env: newEnv(t), size: sz.size, seed: uint32(100 + i), protocol: protocol}
				s.k = max(1, (sz.size/matrixChunk)/2)
				runScenario(t, s, f)
			})
		}
	}
}

// The parallel cases: four parts, each a connection of its own, under the faults that
// hit them differently (a reset of one, a burst that meets several, a restart that cuts
// all of them, a reload that abandons all of them).
func TestFaultMatrixParallel(t *testing.T) {
	for _, f := range matrixFaults {
		switch f.kind {
		case kReset, k5xx, kRestart, kReload:
		default:
			continue
		}
		t.Run(f.name()+"/parallel 4", func(t *testing.T) {
			s := &scenario{env: newEnv(t), size: 10 * matrixChunk, seed: 110, parts: 4}
			s.k = 5
			runScenario(t, s, f)
		})
	}
}

func runScenario(t *testing.T, s *scenario, f matrixFault) {
	complete, corrupt := false, false
	var resent int64
	defer func() {
		m := &matrixSummary
		m.Lock()
		defer m.Unlock()
		m.scenarios++
		if m.perProtocol == nil {
			m.perProtocol = map[string]int{}
		}
		m.perProtocol[cmp.Or(s.protocol, engine.ProtocolTus1)]++
		if s.parts > 1 {
			m.parallel++
		}
		if complete {
			m.complete++
		}
		if corrupt {
			m.corrupt++
		}
		m.maxResent = max(m.maxResent, resent)
	}()
	f.run(t, s)
	o := s.waitDone("m")
	r := o.result(t)
	n, got := s.tusd.StoredSum(t, r.URL)
	want := patternSum(s.size, s.seed)
	if n != int64(s.size) || got != want {
		corrupt = true
		t.Fatalf("stored %d bytes sha256 %.16s, want %d bytes %.16s", n, got, s.size, want)
	}
	complete = true
	resent = s.tusd.BodyBytes.Load() - int64(s.size)
	if limit := int64(matrixChunk * max(1, s.parts)); resent > limit { // one chunk in flight per part
		t.Errorf("%d bytes re-sent, more than one chunk per part (%d)", resent, limit)
	}
	if s.afterCheck != nil {
		s.afterCheck()
	}
	t.Logf("complete, %d bytes re-sent, %d requests", resent, len(s.tusd.Requests()))
}

// sawStatus reports whether the proxy answered a request (of method, or any) with
// status.
func (e *env) sawStatus(method string, status int) bool {
	for _, r := range e.tusd.Requests() {
		if r.Status == status && (method == "" || r.Method == method) {
			return true
		}
	}
	return false
}

// setOffline cuts the tab off the network the way a lost connection does: fetch
// fails (network conditions) and navigator.onLine turns false with an "offline"
// event (network state). Both need CDP's Network domain, which is off otherwise
// because it slows request bodies.
func (e *env) setOffline(offline bool) {
	e.t.Helper()
	var conds []*network.Conditions
	if offline {
		conds = []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
	}
	steps := []func() error{
		func() error { _, err := chromedp.Call(e.tab, network.Enable, network.EnableParams{}); return err },
		func() error {
			_, err := chromedp.Call(e.tab, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1})
			return err
		},
		func() error {
			_, err := chromedp.Call(e.tab, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: conds})
			return err
		},
	}
	if !offline {
		steps = append(steps, func() error { _, err := chromedp.Call(e.tab, network.Disable, cdp.Empty{}); return err })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			e.t.Fatalf("setting offline=%v: %v", offline, err)
		}
	}
}

var patternSums sync.Map // "size/seed" → hex SHA-256

func patternSum(size int, seed uint32) string {
	key := fmt.Sprintf("%d/%d", size, seed)
	if v, ok := patternSums.Load(key); ok {
		return v.(string)
	}
	s := sum(pattern(size, seed))
	patternSums.Store(key, s)
	return s
}
