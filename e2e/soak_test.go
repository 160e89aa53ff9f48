package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// The chaos soak: seeded random fault schedules, one upload after another in one tab
// through the fault proxy. Each upload gets 1–4 faults of the matrix's kinds (faults_test.go) at random
// points (mid-body, on recovery requests, while the client waits to retry), a random
// size (0 B to 64 MiB, mostly small) and random chunking, and must end complete and
// byte-exact. SOAK_SEED replays a run (random when unset, always printed);
// SOAK_UPLOADS sets its length (default 40, what `make e2e` runs; `make soak`: 200).
// TestMain prints the summary line.

const (
	defaultSoakUploads = 40
	soakUploadTimeout  = 2 * time.Minute
	// soakRequestTimeout gives up on a server that never answers; it is well above what
	// the largest chunk (a 64 MiB file in one request) takes on loopback, so it does not
	// fire on its own.
	soakRequestTimeout = 2000
	// soakPageBytes bounds the bytes one page sends before the soak loads it afresh:
	// Chromium stops reading in-memory Blobs after a few hundred MiB of them were sent
	// from one page (README, "Not guaranteed").
	soakPageBytes = 160 << 20
)

var soakSummary struct {
	sync.Mutex
	seed                               uint64
	uploads, faults, complete, corrupt int
	maxResent                          int64
}

func printSoakSummary() {
	s := &soakSummary
	s.Lock()
	defer s.Unlock()
	if s.uploads > 0 {
		fmt.Printf("soak: %d uploads, %d faults, %d complete, %d corrupt, max resent %d bytes, seed %d\n",
			s.uploads, s.faults, s.complete, s.corrupt, s.maxResent, s.seed)
	}
}

// soakSeed is SOAK_SEED, or a random seed when it is unset.
func soakSeed(t *testing.T) uint64 {
	v := os.Getenv("SOAK_SEED")
	if v == "" {
		return rand.Uint64() >> 16 // short enough to type back in
	}
	seed, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("SOAK_SEED=%q: %v", v, err)
	}
	return seed
}

func soakUploads(t *testing.T) int {
	v := os.Getenv("SOAK_UPLOADS")
	if v == "" {
		return defaultSoakUploads
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("SOAK_UPLOADS=%q: want a positive count", v)
	}
	return n
}

// soakKinds weighs the kinds: the ones that cost time (an outage, a timeout) less.
var soakKinds = []struct {
	kind      string
	weight    int
	patchOnly bool // needs a PATCH (no recovery requests, no creation POST)
	bodyOnly  bool // needs a request with a body
}{
	{kReset, 3, false, false}, {k5xx, 3, false, false}, {k409, 2, true, true}, {kLock, 2, true, true},
	{kPartial, 2, false, true}, {kRestart, 3, false, false}, {kOffline, 2, false, false},
	{kReload, 2, false, false}, {kPause, 3, false, false}, {kSlow, 1, false, false},
}

type burstReply struct {
	Status     int
	RetryAfter string // "" for none
}

func (b burstReply) String() string {
	if b.RetryAfter == "" {
		return strconv.Itoa(b.Status)
	}
	return fmt.Sprintf("%d (Retry-After: %s)", b.Status, b.RetryAfter)
}

// soakFault is one fault of a schedule and, once run, where it hit.
type soakFault struct {
	Kind string
	// Backoff (restart, offline, reload, pause): the triggering request is answered 503
	// with Retry-After and the fault happens while the client waits to retry.
	Backoff bool
	// The trigger, armed once the fault before has played out. At >= 0: the first
	// request with a body (a PATCH, or the creation POST carrying data; a PATCH for 409
	// and lock) that reaches past byte At. At < 0: the Nth request that is not a PATCH
	// (OPTIONS, POST, HEAD: opening or recovery requests).
	At int64
	N  int
	// Cut is where in the body reset, partial, lock and restart strike (a fraction).
	Cut    float64
	Burst  []burstReply  // 5xx
	Down   int           // restart: client requests that find the server down
	Outage time.Duration // offline

	hit string // what it hit, once it fired
}

func (f *soakFault) String() string {
	var b strings.Builder
	b.WriteString(f.Kind)
	if f.Backoff {
		b.WriteString(" during backoff")
	}
	switch f.Kind {
	case kReset, kPartial, kLock:
		fmt.Fprintf(&b, " (cut at %.2f of the body)", f.Cut)
	case kRestart:
		fmt.Fprintf(&b, " (down for %d requests", f.Down)
		if !f.Backoff {
			fmt.Fprintf(&b, ", cut at %.2f of a body", f.Cut)
		}
		b.WriteString(")")
	case k5xx:
		fmt.Fprintf(&b, " %v", f.Burst)
	case kOffline:
		fmt.Fprintf(&b, " for %v", f.Outage)
	}
	if f.At >= 0 {
		fmt.Fprintf(&b, ", at byte %d", f.At)
	} else {
		fmt.Fprintf(&b, ", at non-PATCH request %d", f.N)
	}
	if f.hit != "" {
		b.WriteString(": hit " + f.hit)
	} else {
		b.WriteString(": did not fire")
	}
	return b.String()
}

// soakUpload is one upload's schedule, a function of (seed, index) alone.
type soakUpload struct {
	Seed         uint64
	Index        int
	Content      uint32 // pattern seed of the file's bytes
	Size         int
	Chunk        int // chunkSize; 0: the default (128 MiB)
	Fixed        bool
	NoCreateBody bool // uploadDataDuringCreation: false
	Caps         bool // checkServerCapabilities
	FileLock     bool
	Worker       bool
	Draft        bool // protocol: 'ietf-draft-05'
	Faults       []*soakFault

	ran bool // not skipped by -test.run
}

func newSoakUpload(seed uint64, index int) *soakUpload {
	rng := rand.New(rand.NewPCG(seed, uint64(index)))
	u := &soakUpload{Seed: seed, Index: index, Content: rng.Uint32() | 1}
	// Sizes: mostly small, so the run stays fast, and a few up to 64 MiB.
	switch p := rng.Float64(); {
	case p < 0.03:
		u.Size = 0
	case p < 0.12:
		u.Size = 1 + rng.IntN(1024)
	case p < 0.45:
		u.Size = logUniform(rng, 1<<10, 512<<10)
	case p < 0.75:
		u.Size = logUniform(rng, 512<<10, 4<<20)
	case p < 0.92:
		u.Size = logUniform(rng, 4<<20, 16<<20)
	default:
		u.Size = logUniform(rng, 16<<20, 64<<20+1)
	}
	u.Fixed = rng.IntN(2) == 0
	if u.Fixed {
		// Any size from 32 KiB to 16 MiB, but at most ~48 requests per upload.
		u.Chunk = max(logUniform(rng, 32<<10, 16<<20), u.Size/48)
	} else {
		u.Chunk = []int{0, 0, 1 << 20, 4 << 20, 16 << 20}[rng.IntN(5)]
	}
	u.NoCreateBody = rng.IntN(4) == 0
	u.Caps = rng.IntN(5) < 2
	u.FileLock = rng.IntN(5) == 0
	u.Worker = rng.IntN(6) == 0

	// Bytes the creation POST carries: PATCH-only faults need the file to go beyond.
	inPost := 0
	if !u.NoCreateBody {
		first := u.Chunk // fixed: the chunk; adaptive: the first chunk, 512 KiB at most
		if !u.Fixed {
			first = 512 << 10
			if u.Chunk > 0 {
				first = min(first, u.Chunk)
			}
		}
		inPost = min(u.Size, first)
	}
	hasPatch := u.Size > inPost
	at := int64(0)
	var prev *soakFault
	for range 1 + rng.IntN(4) {
		f := &soakFault{At: -1, N: 1, Cut: rng.Float64()}
		byBody := u.Size > 0 && rng.Float64() < 0.65
		if prev != nil && prev.Kind == kPartial && u.Size > 0 {
			byBody = true // partial acceptance is answered without a recovery request
		}
		if byBody {
			at += rng.Int64N(int64(u.Size) - at)
			f.At = at
		} else if prev == nil && u.Caps || prev != nil && (prev.Kind == kPause || prev.Kind == kReload) && u.Caps {
			f.N = 1 + rng.IntN(2) // OPTIONS or the request after it
		}
		// CDP's offline emulation covers the page, not its workers: in worker mode the
		// uploads would go on regardless.
		fits := func(k string, patchOnly, bodyOnly bool) bool {
			return (byBody && (!patchOnly || hasPatch) || !byBody && !bodyOnly) && !(u.Worker && k == kOffline)
		}
		total := 0
		for _, k := range soakKinds {
			if fits(k.kind, k.patchOnly, k.bodyOnly) {
				total += k.weight
			}
		}
		pick := rng.IntN(total)
		for _, k := range soakKinds {
			if fits(k.kind, k.patchOnly, k.bodyOnly) {
				if pick -= k.weight; pick < 0 {
					f.Kind = k.kind
					break
				}
			}
		}
		switch f.Kind {
		case kRestart, kOffline, kReload, kPause:
			f.Backoff = rng.IntN(2) == 0
		}
		switch f.Kind {
		case k5xx:
			for range 1 + rng.IntN(5) {
				b := burstReply{Status: []int{500, 502, 503, 504}[rng.IntN(4)]}
				b.RetryAfter = []string{"", "", "0", "1"}[rng.IntN(4)]
				f.Burst = append(f.Burst, b)
			}
		case kRestart:
			f.Down = 1 + rng.IntN(3)
		case kOffline:
			f.Outage = time.Duration(100+rng.IntN(1400)) * time.Millisecond
		}
		u.Faults = append(u.Faults, f)
		prev = f
	}
	// Drawn last, so the draws above (and the schedules of soakRegressions) stay as
	// they were before the draft joined.
	u.Draft = rng.IntN(4) == 0
	return u
}

// logUniform is in [lo, hi), skewed toward lo.
func logUniform(rng *rand.Rand, lo, hi int) int {
	v := int(math.Exp(math.Log(float64(lo)) + rng.Float64()*(math.Log(float64(hi))-math.Log(float64(lo)))))
	return min(max(v, lo), hi-1)
}

func (u *soakUpload) name() string { return fmt.Sprintf("upload-%03d", u.Index) }

// options is the call's options object, as JSON (a JS object literal). Short retry
// delays keep the soak fast. The budget (30) is more than four faults of up to five
// failed attempts each can spend: running out of it is the engine tests' subject.
func (u *soakUpload) options() string {
	o := map[string]any{
		"endpoint":         "/files/",
		"metadata":         map[string]string{"filename": u.name() + ".bin"},
		"retry":            map[string]int{"maxRetries": 30, "initialDelayMs": 20, "maxDelayMs": 500},
		"requestTimeoutMs": soakRequestTimeout,
	}
	if u.Chunk > 0 {
		o["chunkSize"] = u.Chunk
	}
	if u.Fixed {
		o["adaptiveChunkSize"] = false
	}
	if u.NoCreateBody {
		o["uploadDataDuringCreation"] = false
	}
	if u.Caps {
		o["checkServerCapabilities"] = true
	}
	if u.Draft {
		o["protocol"] = "ietf-draft-05"
	}
	if u.FileLock {
		o["useFileLock"] = true
	}
	b, _ := json.Marshal(o)
	return string(b)
}

// String is the whole schedule: enough to replay the upload or write it as a test.
func (u *soakUpload) String() string {
	var b strings.Builder
	chunk := "adaptive up to " + strconv.Itoa(u.Chunk)
	if u.Chunk == 0 {
		chunk = "adaptive up to the default (128 MiB)"
	}
	if u.Fixed {
		chunk = "fixed " + strconv.Itoa(u.Chunk)
	}
	mode := "main thread"
	if u.Worker {
		mode = "worker mode"
	}
	fmt.Fprintf(&b, "soak seed %d, %s: %d bytes (pattern seed %d), chunk %s, %s\n  options %s\n",
		u.Seed, u.name(), u.Size, u.Content, chunk, mode, u.options())
	for i, f := range u.Faults {
		fmt.Fprintf(&b, "  fault %d: %s\n", i+1, f)
	}
	fmt.Fprintf(&b, "  replay: make build && go test -c -o /tmp/e2e.test ./e2e && cd e2e && SOAK_SEED=%d SOAK_UPLOADS=%d /tmp/e2e.test -test.v -test.run 'TestSoak/%s$'",
		u.Seed, u.Index+1, u.name())
	return b.String()
}

func TestSoak(t *testing.T) {
	seed, n := soakSeed(t), soakUploads(t)
	soakSummary.Lock()
	soakSummary.seed = seed
	soakSummary.Unlock()
	fmt.Printf("soak: seed %d, %d uploads (SOAK_SEED=%d replays it)\n", seed, n, seed)
	se := newSoakEnv(t)
	fired, unfired := map[string]int{}, 0
	for i := range n {
		u := newSoakUpload(seed, i)
		if !t.Run(u.name(), func(t *testing.T) { se.run(t, u) }) {
			se = newSoakEnv(t) // a failed upload may leave the server down or the tab offline
		}
		for _, f := range u.Faults {
			switch {
			case !u.ran:
			case f.hit == "":
				unfired++
			case f.Backoff:
				fired[f.Kind+" in backoff"]++
			default:
				fired[f.Kind]++
			}
		}
	}
	// What the seed exercised: a schedule's fault does not fire when the upload ends
	// before its trigger (a recovery request that never comes, a PATCH a small file
	// never needs).
	var tally []string
	for _, k := range soakKinds {
		for _, name := range []string{k.kind, k.kind + " in backoff"} {
			if fired[name] > 0 {
				tally = append(tally, fmt.Sprintf("%s %d", name, fired[name]))
			}
		}
	}
	t.Logf("faults fired: %s; %d did not fire", strings.Join(tally, ", "), unfired)
}

// soakRegressions are schedules that once failed, replayed by every run: each a
// (seed, index) pair the soak printed, and what it found. A schedule is a function of
// the pair and newSoakUpload: a change there must keep these or spell them out.
var soakRegressions = []struct {
	seed  uint64
	index int
	found string
}{
	// Worker mode: a pause during a 503's backoff reached the worker after its retry
	// had completed the upload; the call rightly settled with success (the test wanted
	// an AbortError).
	{37255265412, 186, "a pause racing completion settles with success"},
}

func TestSoakRegressions(t *testing.T) {
	replaying := func() *soakEnv { se := newSoakEnv(t); se.replay = true; return se }
	se := replaying()
	for _, r := range soakRegressions {
		u := newSoakUpload(r.seed, r.index)
		if !t.Run(fmt.Sprintf("seed-%d-%s", r.seed, u.name()), func(t *testing.T) {
			t.Log(r.found)
			se.run(t, u)
		}) {
			se = replaying()
		}
	}
}

// soakEnv is the one tab and server the uploads share, and the fault dispatcher each
// upload's run plugs into.
type soakEnv struct {
	e         *env
	cur       atomic.Pointer[soakRun]
	worker    bool  // the tab's page runs tuswasm in worker mode
	pageBytes int64 // body bytes sent since the page loaded
	replay    bool  // soakRegressions: left out of the summary line (another seed)
}

func newSoakEnv(t *testing.T) *soakEnv {
	se := &soakEnv{e: newEnv(t)}
	se.e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if run := se.cur.Load(); run != nil {
			return run.serve(w, r, next)
		}
		return false
	})
	return se
}

// soakRun is one upload in progress: its schedule, the fault armed at the proxy, the
// timeline of its requests, and the actions (offline, reload, pause, lock
// interruption) the test goroutine carries out for the faults.
type soakRun struct {
	t       *testing.T
	u       *soakUpload
	e       *env // the shared env, reporting to this upload's t
	backend *tusdtest.Backend
	actions chan soakAction
	done    chan struct{}  // closed when the run ends: held requests let go
	wg      sync.WaitGroup // the goroutines that stop tusd mid-body

	mu       sync.Mutex
	next     int  // the fault to arm next
	armed    bool // u.Faults[next] waits for its trigger
	nonPatch int  // non-PATCH requests since it was armed
	burst    []burstReply
	outage   *soakFault // tusd is down for this restart fault
	downSeen int
	allow    int64 // body bytes of requests the faults hit: what may be re-sent
	timeline []*soakEvent
	problems []string
}

// soakEvent is a request as the proxy saw it, or something the test did.
type soakEvent struct {
	method    string // "" for a mark
	offset    int64  // PATCH: Upload-Offset
	length    int64  // body bytes
	status    int    // the reply's status; 0: none (reset, abandoned)
	done      bool
	fault     int    // the fault (1-based) that hit it
	replay    bool   // the browser sent it again by itself
	abandoned bool   // the client gave up on it while no fault was at work
	mark      string // "reload", "tusd down", …
}

func (ev *soakEvent) String() string {
	if ev.method == "" {
		return "[" + ev.mark + "]"
	}
	s := ev.method
	if ev.length > 0 {
		s += fmt.Sprintf(" %d+%d", ev.offset, ev.length)
	}
	switch {
	case !ev.done:
		s += " → (pending)"
	case ev.status == 0:
		s += " → no reply"
	default:
		s += fmt.Sprintf(" → %d", ev.status)
	}
	if ev.replay {
		s += " (browser replay)"
	}
	if ev.abandoned {
		s += " (abandoned by the client)"
	}
	if ev.fault > 0 {
		s += fmt.Sprintf(" [fault %d]", ev.fault)
	}
	return s
}

type soakAction struct {
	f        *soakFault
	hold     *soakHold     // the held request (in-flight offline, reload, pause)
	tap      *tusdtest.Tap // lock
	finished chan struct{} // lock: closed when the tapped request has its reply
}

// soakHold is a request the proxy keeps without answering (its body read).
type soakHold struct {
	release, aborted chan struct{}
}

// soakWriter records the status a request was answered with.
type soakWriter struct {
	http.ResponseWriter
	status int
}

func (w *soakWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *soakWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *soakWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter } // Hijack, Flush

func (s *soakRun) problem(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
}

func (s *soakRun) mark(what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timeline = append(s.timeline, &soakEvent{mark: what})
}

// settle arms the fault after f.
func (s *soakRun) settle(f *soakFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(f)
}

func (s *soakRun) settleLocked(f *soakFault) {
	if s.next < len(s.u.Faults) && s.u.Faults[s.next] == f {
		s.next++
		s.armed, s.nonPatch = s.next < len(s.u.Faults), 0
	}
}

// serve is the proxy's fault for this upload: it answers every request, with the
// burst or outage in progress, the armed fault when its trigger matches, or tusd.
func (s *soakRun) serve(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
	ev := &soakEvent{method: r.Method, length: max(r.ContentLength, 0)}
	if r.Method == http.MethodPatch {
		ev.offset, _ = strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	}
	sw := &soakWriter{ResponseWriter: w}
	if !s.handle(sw, r, next, ev) {
		next.ServeHTTP(sw, r)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ev.status, ev.done = sw.status, true
	if ev.status == 0 && ev.fault == 0 {
		// The client gave up on it (requestTimeoutMs on a slow moment, not a fault):
		// sending its bytes again is the recovery the timeout asks for.
		ev.abandoned = true
		s.allow += ev.length
	}
	return true
}

func (s *soakRun) handle(w http.ResponseWriter, r *http.Request, next http.Handler, ev *soakEvent) bool {
	cl := ev.length
	body := r.Method == http.MethodPatch || r.Method == http.MethodPost && cl > 0
	s.mu.Lock()
	// Chromium sends a request again by itself when a reused connection closes before
	// any reply (a reset): those bytes are the browser's, not tuswasm's, re-sending.
	if n := len(s.timeline); n > 0 {
		prev := s.timeline[n-1]
		if prev.done && prev.status == 0 && prev.method == ev.method && prev.offset == ev.offset && prev.length == ev.length {
			ev.replay = true
			s.allow += cl
		}
	}
	s.timeline = append(s.timeline, ev)
	if len(s.burst) > 0 {
		b := s.burst[0]
		s.burst = s.burst[1:]
		s.allow += cl
		ev.fault = s.next + 1
		if len(s.burst) == 0 {
			s.settleLocked(s.u.Faults[s.next])
		}
		s.mu.Unlock()
		reply(w, r, b.Status, b.RetryAfter)
		return true
	}
	if s.outage != nil {
		s.mu.Unlock()
		return s.down(w, r, next, ev)
	}
	if !s.armed {
		s.mu.Unlock()
		return false
	}
	f := s.u.Faults[s.next]
	var match bool
	if f.At >= 0 {
		patchOnly := f.Kind == k409 || f.Kind == kLock
		match = body && (r.Method == http.MethodPatch || !patchOnly) && ev.offset+cl > f.At
	} else if r.Method != http.MethodPatch {
		s.nonPatch++
		match = s.nonPatch == f.N
	}
	if !match {
		s.mu.Unlock()
		return false
	}
	s.armed = false
	s.allow += cl
	ev.fault = s.next + 1
	f.hit = fmt.Sprintf("%s #%d of the upload", r.Method, len(s.timeline))
	if body {
		f.hit += fmt.Sprintf(", bytes %d–%d", ev.offset, ev.offset+cl)
	}
	s.mu.Unlock()
	return s.fire(f, w, r, next, ev)
}

func (s *soakRun) fire(f *soakFault, w http.ResponseWriter, r *http.Request, next http.Handler, ev *soakEvent) bool {
	always := func(*http.Request) bool { return true }
	cl := ev.length
	cut := int64(f.Cut * float64(cl))
	if f.Backoff {
		// The fault plays out while the client waits out a 503 with Retry-After (capped
		// by maxDelayMs). A restart: tusd is down before the client hears of it.
		if f.Kind == kRestart {
			s.stop(f)
			reply(w, r, http.StatusServiceUnavailable, "1")
			return true
		}
		reply(w, r, http.StatusServiceUnavailable, "1")
		_ = http.NewResponseController(w).Flush() // the client has its 503 before the action
		s.act(soakAction{f: f})
		return true
	}
	switch f.Kind {
	case kReset:
		s.settle(f)
		return tusdtest.Truncate(always, cut, true)(w, r, next)
	case kPartial:
		s.settle(f)
		return tusdtest.Truncate(always, cut, false)(w, r, next)
	case k409:
		s.settle(f)
		return tusdtest.Respond(always, http.StatusConflict, nil, "ERR_MISMATCHED_OFFSET: mismatched offset")(w, r, next)
	case k5xx:
		s.mu.Lock()
		s.burst = f.Burst[1:]
		if len(s.burst) == 0 {
			s.settleLocked(f)
		}
		s.mu.Unlock()
		reply(w, r, f.Burst[0].Status, f.Burst[0].RetryAfter)
		return true
	case kLock:
		// tusd sits mid-PATCH holding the upload's lock; the test goroutine then asks
		// tusd for the upload, which makes it end the PATCH (400 ERR_UPLOAD_INTERRUPTED).
		tap, fault := tusdtest.NewTap(always, min(max(cut, 1), cl), true)
		fault(w, r, next)
		s.settle(f) // nothing else comes from the client while its PATCH hangs
		a := soakAction{f: f, tap: tap, finished: make(chan struct{})}
		s.act(a)
		next.ServeHTTP(w, r)
		close(a.finished)
		s.fizzled(f, tap)
		return true
	case kRestart:
		if cl == 0 {
			s.stop(f)
			return s.down(w, r, next, ev)
		}
		// tusd dies while the body flows in, as in the matrix.
		tap, fault := tusdtest.NewTap(always, min(max(cut, 1), cl), false)
		fault(w, r, next)
		finished := make(chan struct{})
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			select {
			case <-tap.Reached:
			case <-finished:
			case <-s.done:
				return
			}
			if closed(tap.Reached) {
				s.stop(f)
			}
		}()
		next.ServeHTTP(w, r)
		close(finished)
		if s.fizzled(f, tap) {
			s.settle(f)
		}
		return true
	case kSlow:
		s.settle(f) // nothing else comes from the client until it gives up on this one
		drain(r)
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return true
	case kOffline, kReload, kPause:
		h := s.hold(f, r)
		select {
		case <-h.release:
			// Offline: this reply cannot reach the browser any more.
			w.WriteHeader(http.StatusServiceUnavailable)
		case <-r.Context().Done():
			close(h.aborted)
		case <-s.done:
		}
		return true
	}
	panic("unknown fault kind " + f.Kind)
}

// fizzled notes a tapped request that ended before its cut (tusd answered without
// reading the body: a 409 for a stale offset the browser re-sent by itself).
func (s *soakRun) fizzled(f *soakFault, tap *tusdtest.Tap) bool {
	if closed(tap.Reached) {
		return false
	}
	s.mu.Lock()
	f.hit += " (answered before the cut: no effect)"
	s.mu.Unlock()
	return true
}

// hold reads the request's body (so it is truly in flight) and hands the fault to
// the test goroutine.
func (s *soakRun) hold(f *soakFault, r *http.Request) *soakHold {
	drain(r)
	h := &soakHold{release: make(chan struct{}), aborted: make(chan struct{})}
	s.act(soakAction{f: f, hold: h})
	return h
}

// act hands an action to the test goroutine.
func (s *soakRun) act(a soakAction) {
	select {
	case s.actions <- a:
	case <-s.done:
	}
}

func drain(r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }

// stop takes tusd down for restart fault f.
func (s *soakRun) stop(f *soakFault) {
	s.backend.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage, s.downSeen = f, 0
	s.timeline = append(s.timeline, &soakEvent{mark: "tusd down"})
}

// down passes a request to the stopped tusd (the proxy answers 502) and, after the
// restart fault's count of them, brings tusd back.
func (s *soakRun) down(w http.ResponseWriter, r *http.Request, next http.Handler, ev *soakEvent) bool {
	s.mu.Lock()
	f := s.outage
	s.allow += ev.length
	ev.fault = s.next + 1
	s.downSeen++
	last := s.downSeen >= f.Down
	s.mu.Unlock()
	next.ServeHTTP(w, r)
	if last {
		if err := s.backend.Start(); err != nil {
			s.problem("restarting tusd on %s: %v", s.backend.Addr, err)
		}
		s.mu.Lock()
		s.outage = nil
		s.timeline = append(s.timeline, &soakEvent{mark: "tusd up"})
		s.settleLocked(f)
		s.mu.Unlock()
	}
	return true
}

// reply answers a request itself, its body drained (so a PATCH's bytes count as sent).
func reply(w http.ResponseWriter, r *http.Request, status int, retryAfter string) {
	var h http.Header
	if retryAfter != "" {
		h = http.Header{"Retry-After": {retryAfter}}
	}
	tusdtest.Respond(func(*http.Request) bool { return true }, status, h, http.StatusText(status))(w, r, nil)
}

// run uploads u and checks the result.
func (se *soakEnv) run(t *testing.T, u *soakUpload) {
	u.ran = true
	// The shared env's helpers report to this upload's test.
	e := &env{t: t, backend: se.e.backend, tusd: se.e.tusd, origin: se.e.origin, page: se.e.page, tab: se.e.tab}
	s := &soakRun{t: t, u: u, e: e, backend: se.e.backend, actions: make(chan soakAction, 4), done: make(chan struct{})}
	s.armed = len(u.Faults) > 0
	fired := 0
	complete, corrupt := false, false
	var resent int64
	t.Cleanup(func() {
		se.cur.Store(nil)
		close(s.done)
		s.wg.Wait()
		s.mu.Lock()
		if s.outage != nil { // the upload ended (or failed) with tusd down
			_ = s.backend.Start()
			s.outage = nil
		}
		for _, f := range u.Faults {
			if f.hit != "" {
				fired++
			}
		}
		s.mu.Unlock()
		if t.Failed() {
			t.Logf("schedule:\n%s\n  timeline: %s", u, s.timelineString())
		}
		if se.replay {
			return
		}
		m := &soakSummary
		m.Lock()
		m.uploads++
		m.faults += fired
		if complete {
			m.complete++
		}
		if corrupt {
			m.corrupt++
		}
		m.maxResent = max(m.maxResent, resent)
		m.Unlock()
	})

	if u.Worker != se.worker {
		se.worker = u.Worker
		se.e.page = "/test.html"
		if u.Worker {
			se.e.page = "/test.html?worker"
		}
		e.page = se.e.page
		e.open(e.tab, e.page)
		se.pageBytes = 0
	} else if se.pageBytes > soakPageBytes {
		e.reload(e.tab)
		se.pageBytes = 0
	}
	sentBefore := e.tusd.BodyBytes.Load()
	se.cur.Store(s)
	start := time.Now()
	s.start()
	s.drive()
	se.cur.Store(nil)
	se.pageBytes += e.tusd.BodyBytes.Load() - sentBefore

	s.mu.Lock()
	problems := s.problems
	s.mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	for _, p := range takeProblems(se.e) {
		t.Errorf("browser: %s", p)
	}
	o := evalIn[outcome](e, e.tab, `state.m.outcome`)
	if !o.OK {
		t.Fatalf("upload failed: %s %s (status %d): %s", o.Name, o.Code, o.Status, o.Message)
	}
	r := o.result(t)
	n, got := e.tusd.StoredSum(t, r.URL)
	if want := patternSum(u.Size, u.Content); n != int64(u.Size) || got != want {
		corrupt = true
		t.Fatalf("stored %d bytes sha256 %.16s, want %d bytes %.16s", n, got, u.Size, want)
	}
	complete = true
	resent = e.tusd.BodyBytes.Load() - sentBefore - int64(u.Size)
	s.mu.Lock()
	allow := s.allow
	s.mu.Unlock()
	if resent > allow {
		t.Errorf("%d bytes re-sent, more than the %d bytes in flight where faults hit", resent, allow)
	}
	// Once a 201 has reached the client it never creates another upload: pauses and
	// recoveries continue the same one. Only a reload may lose it, when it kills the
	// page between the 201 and the write to localStorage.
	s.mu.Lock()
	created, requests := false, 0
	for _, ev := range s.timeline {
		switch {
		case ev.mark == "reload":
			created = false
		case ev.method == http.MethodPost && created:
			t.Errorf("a creation POST after a POST was answered 201, with no reload between")
		}
		created = created || ev.method == http.MethodPost && ev.status == http.StatusCreated
		if ev.method != "" {
			requests++
		}
	}
	s.mu.Unlock()
	t.Logf("complete in %v: %d bytes re-sent, %d requests\n%s", time.Since(start).Round(time.Millisecond), resent, requests, u)
}

func (s *soakRun) timelineString() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var parts []string
	for _, ev := range s.timeline {
		parts = append(parts, ev.String())
	}
	return strings.Join(parts, ", ")
}

// takeProblems returns and forgets the console errors and exceptions the shared tab
// logged, so that they are reported by the upload they happened in.
func takeProblems(e *env) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.problems
	e.problems = nil
	return p
}

// start (re)starts the upload in the tab, as a page would after a pause or a reload:
// the same file, the same options, a fresh AbortController.
func (s *soakRun) start() {
	u := s.u
	startIn(s.e, s.e.tab, fmt.Sprintf(`bg('m', () => {
		window.ctl = new AbortController()
		if (window.soakFile?.key !== %[1]q) window.soakFile = {key: %[1]q, file: makeFile(%[2]d, %[3]d, %[1]q)}
		return tus.createAndUpload(soakFile.file, {...%[4]s, signal: ctl.signal})
	})`, fmt.Sprintf("%s-%d.bin", u.name(), u.Seed), u.Size, u.Content, u.options()))
}

// drive carries out the faults' actions until the upload settles.
func (s *soakRun) drive() {
	deadline := time.Now().Add(soakUploadTimeout)
	for {
		select {
		case a := <-s.actions:
			s.perform(a)
			continue
		default:
		}
		if evalIn[bool](s.e, s.e.tab, `window.state?.m?.done === true`) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the upload did not settle within %v", soakUploadTimeout)
		}
		select {
		case a := <-s.actions:
			s.perform(a)
		case <-time.After(20 * time.Millisecond): // poll interval, bounded by the deadline
		}
	}
}

func (s *soakRun) perform(a soakAction) {
	t, e, f := s.t, s.e, a.f
	switch f.Kind {
	case kLock:
		s.waitFor("the PATCH to reach the tap", func() bool { return closed(a.tap.Reached) || closed(a.finished) })
		if !closed(a.tap.Reached) {
			return // answered before the cut (fizzled)
		}
		stored := filepath.Join(s.backend.Dir, path.Base(a.tap.Path()))
		s.waitFor("tusd to store bytes of the stalled PATCH", func() bool {
			fi, err := os.Stat(stored)
			return err == nil && fi.Size() > a.tap.Offset()
		})
		resp, err := http.DefaultClient.Do(headReq(t, "http://"+s.backend.Addr+a.tap.Path()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		a.tap.Release()
	case kOffline:
		s.mark("offline")
		e.setOffline(true)
		if a.hold != nil {
			close(a.hold.release)
		}
		s.settle(f)          // nothing reaches the server until the browser is back online
		time.Sleep(f.Outage) // the outage itself, not synchronisation
		s.mark("online")
		e.setOffline(false)
	case kReload:
		s.mark("reload")
		e.reload(e.tab)
		if a.hold != nil {
			s.waitFor("the reload to abort the held request", func() bool { return closed(a.hold.aborted) })
		}
		s.settle(f)
		s.mark("resume")
		s.start()
	case kPause:
		s.mark("pause")
		evalIn[any](e, e.tab, `ctl.abort()`)
		if a.hold != nil {
			s.waitFor("the pause to abort the held request", func() bool { return closed(a.hold.aborted) })
		}
		s.waitFor("the paused call to settle", func() bool { return evalIn[bool](e, e.tab, `state.m.done`) })
		o := evalIn[outcome](e, e.tab, `state.m.outcome`)
		if o.OK {
			// The upload was done before the pause took effect (it retried as soon as its
			// backoff ended while the test was busy, or, in worker mode, before the abort
			// reached the worker): nothing to resume; run checks the stored bytes.
			s.mu.Lock()
			f.hit += " (the upload completed before the pause)"
			s.mu.Unlock()
			s.settle(f)
			return
		}
		if o.OK || o.Name != "AbortError" {
			t.Fatalf("the paused call settled with %s %s (%s), want an AbortError", o.Name, o.Code, o.Message)
		}
		s.settle(f)
		s.mark("resume")
		s.start()
	default:
		t.Fatalf("no action for %s", f.Kind)
	}
}

func (s *soakRun) waitFor(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
