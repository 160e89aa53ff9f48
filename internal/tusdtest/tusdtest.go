// Package tusdtest runs a real tusd v2 server (internal/tusdserver) for tests, with a
// scriptable fault injector in front of it, and holds the hostile-server table the
// engine and e2e suites share. It is test support only: nothing in the product
// imports it.
package tusdtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/internal/tusdserver"
)

// Fault sees every request before tusd does. It returns true when it has answered the
// request itself (possibly after calling next); false passes the request on untouched.
type Fault func(w http.ResponseWriter, r *http.Request, next http.Handler) bool

// Record is one request as the server saw it.
type Record struct {
	Method string
	Path   string
	Status int
}

// Server is a tus server behind the fault injector: tusd v2 (filestore in Dir,
// memorylocker) in process (New), or any tus server across a real socket through a
// reverse proxy (NewProxy, NewProxyTo).
type Server struct {
	Dir  string
	next http.Handler // tusd itself, or the reverse proxy to it
	// open reads what the server stored for an upload URL (nil: the file named after
	// the URL's last segment in Dir, as tusd's file store and the Node servers keep it).
	open  func(uploadURL string) (io.ReadCloser, error)
	mu    sync.Mutex
	fault []Fault
	log   []Record
	// BodyBytes counts upload bytes that arrived from clients (before faults): PATCH
	// bodies, and POST bodies that carry the first chunk (creation-with-upload).
	BodyBytes atomic.Int64
}

// Options tune the embedded tusd.
type Options = tusdserver.Options

// New builds a Server storing uploads in dir (a fresh temp dir when empty).
func New(tb testing.TB, dir string, opts Options) *Server {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	h, err := tusdserver.New(dir, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return &Server{Dir: dir, next: h}
}

// Start serves s on a loopback httptest server closed at the end of the test, and
// returns the creation endpoint.
func (s *Server) Start(tb testing.TB) string {
	ts := httptest.NewServer(s)
	tb.Cleanup(ts.Close)
	return ts.URL + "/files/"
}

// Inject adds a fault; faults are consulted in order.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = append(s.fault, f)
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.log...)
}

// Count returns how many requests of method were seen.
func (s *Server) Count(method string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method {
			n++
		}
	}
	return n
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.mu.Lock()
		s.log = append(s.log, Record{Method: r.Method, Path: r.URL.Path, Status: sw.status})
		s.mu.Unlock()
	}()
	if r.Method == http.MethodPatch || r.Method == http.MethodPost && r.ContentLength > 0 {
		r.Body = &countingBody{ReadCloser: r.Body, n: &s.BodyBytes}
	}
	s.mu.Lock()
	faults := append([]Fault(nil), s.fault...)
	s.mu.Unlock()
	for _, f := range faults {
		if f(sw, r, s.next) {
			return
		}
	}
	s.next.ServeHTTP(sw, r)
}

// openStored opens what the server stored for an upload URL.
func (s *Server) openStored(uploadURL string) (io.ReadCloser, error) {
	if s.open != nil {
		return s.open(uploadURL)
	}
	return os.Open(filepath.Join(s.Dir, path.Base(uploadURL)))
}

// Stored returns the bytes the server stored for an upload URL.
func (s *Server) Stored(tb testing.TB, uploadURL string) []byte {
	tb.Helper()
	f, err := s.openStored(uploadURL)
	if err != nil {
		tb.Fatalf("reading stored upload: %v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		tb.Fatalf("reading stored upload: %v", err)
	}
	return b
}

// Metadata returns the metadata tusd's file store keeps for an upload URL (its .info
// file).
func (s *Server) Metadata(tb testing.TB, uploadURL string) map[string]string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dir, path.Base(uploadURL)+".info"))
	if err != nil {
		tb.Fatalf("reading the upload's metadata: %v", err)
	}
	var info struct{ MetaData map[string]string }
	if err := json.Unmarshal(b, &info); err != nil {
		tb.Fatalf("reading the upload's metadata: %v", err)
	}
	return info.MetaData
}

// AssertStored fails the test unless the stored upload equals want (size and SHA-256).
func (s *Server) AssertStored(tb testing.TB, uploadURL string, want []byte) {
	tb.Helper()
	got := s.Stored(tb, uploadURL)
	if len(got) != len(want) || Sum(got) != Sum(want) {
		tb.Fatalf("stored upload: %d bytes sha256 %s, want %d bytes sha256 %s", len(got), Sum(got)[:16], len(want), Sum(want)[:16])
	}
}

// StoredSum streams the stored upload through SHA-256 (for files too big to load).
func (s *Server) StoredSum(tb testing.TB, uploadURL string) (int64, string) {
	tb.Helper()
	f, err := s.openStored(uploadURL)
	if err != nil {
		tb.Fatalf("opening stored upload: %v", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		tb.Fatal(err)
	}
	return n, hex.EncodeToString(h.Sum(nil))
}

// Sum is the hex SHA-256 of b.
func Sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Nth returns a predicate that is true for the given 1-based occurrences of requests
// with method (e.g. the 2nd and 3rd PATCH).
func Nth(method string, which ...int) func(*http.Request) bool {
	var mu sync.Mutex
	seen := 0
	return func(r *http.Request) bool {
		if r.Method != method {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		seen++
		for _, n := range which {
			if n == seen {
				return true
			}
		}
		return false
	}
}

// writeHead drains the request and sends a tus reply's status and headers.
func writeHead(w http.ResponseWriter, r *http.Request, status int, header http.Header) {
	_, _ = io.Copy(io.Discard, r.Body)
	for k, v := range header {
		w.Header()[k] = v
	}
	w.Header().Set("Tus-Resumable", "1.0.0")
	w.WriteHeader(status)
}

// Respond answers matching requests itself with status, headers and body.
func Respond(match func(*http.Request) bool, status int, header http.Header, body string) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if !match(r) {
			return false
		}
		writeHead(w, r, status, header)
		_, _ = io.WriteString(w, body)
		return true
	}
}

// Truncate passes only the first keep bytes of matching PATCH bodies to tusd. With
// hangup, the connection is then closed without a reply (a reset mid-body); without,
// the client's whole body is read and tusd's reply (204 with the partial offset) sent.
func Truncate(match func(*http.Request) bool, keep int64, hangup bool) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !match(r) {
			return false
		}
		orig := r.Body
		if r.ContentLength >= 0 && r.ContentLength < keep {
			keep = r.ContentLength
		}
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(io.LimitReader(orig, keep))
		r2.ContentLength = keep
		r2.Header.Set("Content-Length", strconv.FormatInt(keep, 10))
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r2)
		if hangup {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return true
		}
		_, _ = io.Copy(io.Discard, orig)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return true
	}
}

// Rewrite lets tusd answer matching requests, then edits the reply's headers.
func Rewrite(match func(*http.Request) bool, edit func(status *int, h http.Header)) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !match(r) {
			return false
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		status := rec.Code
		h := rec.Header().Clone()
		edit(&status, h)
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.Copy(w, bytes.NewReader(rec.Body.Bytes()))
		return true
	}
}

// Tap watches the body of one matching request on its way to tusd: Reached is closed
// once After bytes have passed. A stalling Tap then holds the rest of the body until
// Release (or the client goes away), so tusd sits mid-PATCH holding the upload's lock.
type Tap struct {
	Reached chan struct{}
	After   int64
	stall   bool
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	path    string
	offset  int64
}

// NewTap returns a Tap for the first request match accepts, and the Fault to Inject.
func NewTap(match func(*http.Request) bool, after int64, stall bool) (*Tap, Fault) {
	t := &Tap{Reached: make(chan struct{}), After: after, stall: stall, release: make(chan struct{})}
	var used atomic.Bool
	return t, func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !match(r) || used.Swap(true) {
			return false
		}
		t.mu.Lock()
		t.path = r.URL.Path
		t.offset, _ = strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
		t.mu.Unlock()
		r.Body = &tapBody{ReadCloser: r.Body, tap: t, ctx: r.Context().Done(), left: after}
		return false
	}
}

// Path is the tapped request's URL path (empty before it arrived).
func (t *Tap) Path() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.path
}

// Offset is the tapped request's Upload-Offset.
func (t *Tap) Offset() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.offset
}

// Release lets a stalled body flow again.
func (t *Tap) Release() { t.once.Do(func() { close(t.release) }) }

type tapBody struct {
	io.ReadCloser
	tap     *Tap
	ctx     <-chan struct{}
	left    int64
	reached bool
}

func (b *tapBody) Read(p []byte) (int, error) {
	if b.left > 0 && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	if b.left == 0 && !b.reached {
		b.reached = true
		close(b.tap.Reached)
		if b.tap.stall {
			select {
			case <-b.tap.release:
			case <-b.ctx:
				return 0, io.ErrUnexpectedEOF
			}
		}
	}
	n, err := b.ReadCloser.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	return n, err
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// CreateOn answers creation POSTs by creating the upload on another tus server
// (endpoint) and pointing the client there: an API server in front of upload storage
// on another origin.
func CreateOn(endpoint string) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method != http.MethodPost {
			return false
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, endpoint, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return true
		}
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Length", r.Header.Get("Upload-Length"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return true
		}
		resp.Body.Close()
		w.Header().Set("Location", resp.Header.Get("Location"))
		w.Header().Set("Tus-Resumable", "1.0.0")
		w.WriteHeader(resp.StatusCode)
		return true
	}
}

// Drip answers matching requests with status and header, then a body of one byte per
// every, for as long as the client listens (at most 600 bytes): a server that never
// finishes its reply.
func Drip(match func(*http.Request) bool, status int, header http.Header, every time.Duration) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if !match(r) {
			return false
		}
		writeHead(w, r, status, header)
		DripBody(w, r, every)
		return true
	}
}

// DripBody writes a body of one byte per every after the head was written, for as long
// as the client listens (at most 600 bytes).
func DripBody(w http.ResponseWriter, r *http.Request, every time.Duration) {
	for range 600 {
		if _, err := w.Write([]byte("x")); err != nil {
			return
		}
		_ = http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(every):
		}
	}
}

// Slow passes the bodies of matching requests on at about rate bytes per second: a
// slow uplink, so that a pause or a fault lands in the middle of a body.
func Slow(match func(*http.Request) bool, rate int64) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if match(r) {
			r.Body = &slowBody{ReadCloser: r.Body, rate: rate}
		}
		return false
	}
}

type slowBody struct {
	io.ReadCloser
	rate int64
}

func (b *slowBody) Read(p []byte) (int, error) {
	const step = 16 << 10
	if len(p) > step {
		p = p[:step]
	}
	n, err := b.ReadCloser.Read(p)
	time.Sleep(time.Duration(int64(n) * int64(time.Second) / b.rate)) // the link's pace
	return n, err
}
