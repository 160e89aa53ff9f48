package tusdtest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
)

// Late plays a server that stores a request's body after the client gave up on it:
// @tus/server 2.x goes on writing what it buffered of an aborted PATCH after the next
// request for the upload began (seen: HEAD 4718592, PATCH 409, HEAD 5570560). tusd
// writes synchronously and never does this, so the engine tests need this stand-in;
// the browser tests meet the real thing (e2e, @tus/server).
type Late struct {
	// Reached is closed once After bytes of the held PATCH's body have arrived: the
	// moment for the test to abort the client.
	Reached chan struct{}
	// Held is closed once the client has left and the body is held; Stored once the
	// held bytes have been written to the upload.
	Held, Stored chan struct{}
	After        int64

	mu      sync.Mutex
	path    string
	offset  int64
	body    []byte
	pending bool
}

// NewLate returns a Late for the first PATCH match accepts, and the Fault to Inject.
// The PATCH gets no reply; its body is written to the upload right after tusd has
// answered the next HEAD of that upload.
func NewLate(match func(*http.Request) bool, after int64) (*Late, Fault) {
	l := &Late{Reached: make(chan struct{}), Held: make(chan struct{}), Stored: make(chan struct{}), After: after}
	var once sync.Once
	return l, func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		switch {
		case r.Method == http.MethodPatch && match(r):
			taken := false
			once.Do(func() { taken = true })
			if !taken {
				return false
			}
			l.hold(r)
			return true
		case r.Method == http.MethodHead && l.due(r.URL.Path):
			next.ServeHTTP(w, r)
			l.store(next)
			return true
		}
		return false
	}
}

// hold reads the PATCH body until the client goes away and keeps it.
func (l *Late) hold(r *http.Request) {
	var buf bytes.Buffer
	chunk := make([]byte, 32<<10)
	reached := false
	for {
		n, err := r.Body.Read(chunk)
		buf.Write(chunk[:n])
		if !reached && int64(buf.Len()) >= l.After {
			reached = true
			close(l.Reached)
		}
		if err != nil {
			break
		}
	}
	<-r.Context().Done() // the client has left: what came is what a server would keep
	l.mu.Lock()
	defer l.mu.Unlock()
	l.path, l.offset, l.body, l.pending = r.URL.Path, Offset(r), buf.Bytes(), true
	close(l.Held)
}

func (l *Late) due(path string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending && l.path == path
}

// store writes the held bytes to the upload, as the server's late write.
func (l *Late) store(next http.Handler) {
	l.mu.Lock()
	path, offset, body := l.path, l.offset, l.body
	l.pending = false
	l.mu.Unlock()
	req := httptest.NewRequest(http.MethodPatch, path, io.NopCloser(bytes.NewReader(body)))
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	req.ContentLength = int64(len(body))
	next.ServeHTTP(httptest.NewRecorder(), req)
	close(l.Stored)
}
