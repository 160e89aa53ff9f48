package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// Node's transport (node.js's send on node:http) against servers that answer in ways
// fetch hides from a page: a success reply whose body never ends, and a reply that
// comes while the request body is still being sent. The engine has its answer in both
// cases; what node:http still holds for the request must neither keep the process
// alive nor keep sending bytes the engine has moved on from.

// dripBody lets tusd answer matching requests, then sends its status and headers with
// a body of one byte a second that never ends (while the client listens, at most 600
// s): a success reply the engine never reads.
func dripBody(match func(*http.Request) bool) tusdtest.Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !match(r) {
			return false
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length") // chunked: no end in sight
		w.WriteHeader(rec.Code)
		tusdtest.DripBody(w, r, time.Second)
		return true
	}
}

// A creation reply (201) whose body drips forever: the upload completes byte-exact and
// the program ends by itself soon after, as a page's would (fetch's body is cancelled),
// rather than reading the body for the next ten minutes.
func TestNodeSuccessBodyNeverEnds(t *testing.T) {
	const size = 3<<20 + 7
	srv, endpoint := nodeTusd(t)
	srv.Inject(dripBody(func(r *http.Request) bool { return r.Method == http.MethodPost }))
	path := writePattern(t, t.TempDir(), size, 830)
	p := startNodeScript(t, `out({case: 'drip', ...await run(async () => tus.createAndUpload(await openAsBlob(process.env.FILE),
  {endpoint, chunkSize: 1 << 20, storage: false}))})
`, "ENDPOINT="+endpoint, "FILE="+path)
	r := nodeResult(t, "dripping creation reply", p.outcomes(20 * time.Second)["drip"])
	checkStored(t, srv, r.URL, path)
}

// earlyReply answers the matching request as soon as its headers are in, with status
// and no body, without reading the request body or closing the connection (held until
// the test ends): a server or proxy that refuses a body mid-way and lets the client's
// bytes pile up. Reached is closed once it has answered.
type earlyReply struct {
	match   func(*http.Request) bool
	status  int
	Reached chan struct{}
	once    sync.Once
	mu      sync.Mutex
	conns   []net.Conn
}

func newEarlyReply(t *testing.T, match func(*http.Request) bool, status int) *earlyReply {
	e := &earlyReply{match: match, status: status, Reached: make(chan struct{})}
	t.Cleanup(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, c := range e.conns {
			c.Close()
		}
	})
	return e
}

func (e *earlyReply) fault(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
	if !e.match(r) {
		return false
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return true
	}
	e.mu.Lock()
	e.conns = append(e.conns, conn)
	e.mu.Unlock()
	_, _ = fmt.Fprintf(conn, "HTTP/1.1 %d %s\r\nTus-Resumable: 1.0.0\r\nContent-Length: 0\r\n\r\n", e.status, http.StatusText(e.status))
	e.once.Do(func() { close(e.Reached) })
	return true
}

// A PATCH answered 503 before its body was read, the connection left open and never
// read from: the upload is retried and ends byte-exact, and the program ends by itself:
// the abandoned request is not left writing 32 MiB into a socket nobody reads. A
// stream's section is a view of StreamSource's buffer (streamBody), which changes once
// the engine moves on: the abandoned request must be gone by then.
func TestNodeReplyBeforeBodySent(t *testing.T) {
	const size, chunk = 40 << 20, 32 << 20
	path := writePattern(t, t.TempDir(), size, 840)
	for _, src := range []string{"await openAsBlob(process.env.FILE)", "(await openAsBlob(process.env.FILE)).stream()", "Readable.toWeb(createReadStream(process.env.FILE))"} {
		srv, endpoint := nodeTusd(t)
		early := newEarlyReply(t, tusdtest.Nth(http.MethodPatch, 1), http.StatusServiceUnavailable)
		srv.Inject(early.fault)
		p := startNodeScript(t, fmt.Sprintf(`out({case: 'early', ...await run(async () => tus.createAndUpload(%s,
  {endpoint, chunkSize: %d, adaptiveChunkSize: false, uploadDataDuringCreation: false, uploadSize: %d, storage: false, retry: {initialDelayMs: 50}}))})
`, src, chunk, size), "ENDPOINT="+endpoint, "FILE="+path)
		r := nodeResult(t, src, p.outcomes(30 * time.Second)["early"])
		checkStored(t, srv, r.URL, path)
		select {
		case <-early.Reached:
		default:
			t.Errorf("%s: the early reply was never sent", src)
		}
		t.Logf("%s: %d PATCHes", src, srv.Count(http.MethodPatch))
	}
}

// An error reply (500) to the first PATCH whose body drips a byte a second: the engine
// reads a snippet for a bounded time and cancels the rest, which ends the connection;
// the upload is retried and ends byte-exact, and the program ends by itself.
func TestNodeErrorBodyNeverEnds(t *testing.T) {
	const size = 3<<20 + 9
	srv, endpoint := nodeTusd(t)
	srv.Inject(tusdtest.Drip(tusdtest.Nth(http.MethodPatch, 1), http.StatusInternalServerError, nil, time.Second))
	path := writePattern(t, t.TempDir(), size, 880)
	p := startNodeScript(t, `out({case: 'drip', ...await run(async () => tus.createAndUpload(await openAsBlob(process.env.FILE),
  {endpoint, chunkSize: 1 << 20, adaptiveChunkSize: false, uploadDataDuringCreation: false, storage: false, retry: {initialDelayMs: 50}}))})
`, "ENDPOINT="+endpoint, "FILE="+path)
	r := nodeResult(t, "dripping error reply", p.outcomes(30 * time.Second)["drip"])
	checkStored(t, srv, r.URL, path)
}
