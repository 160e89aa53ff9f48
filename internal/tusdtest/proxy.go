package tusdtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/tuswasm/tuswasm/internal/tusdserver"
)

// Backend is tusd on a loopback port of its own that can be stopped and started
// again on the same port and directory: a server restart as clients see it.
type Backend struct {
	Dir  string
	Addr string
	opts Options

	mu     sync.Mutex
	srv    *http.Server
	active *sync.RWMutex
}

// StartBackend starts tusd with its filestore in dir (a fresh temp dir when empty);
// it is stopped at the end of the test.
func StartBackend(tb testing.TB, dir string, opts Options) *Backend {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	b := &Backend{Dir: dir, Addr: ln.Addr().String(), opts: opts}
	if err := b.serve(ln); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Stop)
	return b
}

func (b *Backend) serve(ln net.Listener) error {
	h, err := tusdserver.New(b.Dir, b.opts)
	if err != nil {
		ln.Close()
		return err
	}
	// Handlers hold active for reading; Stop takes it for writing, so it returns only
	// when no handler of this server can still write to the directory.
	active := &sync.RWMutex{}
	srv := &http.Server{ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		active.RLock()
		defer active.RUnlock()
		h.ServeHTTP(w, r)
	})}
	b.mu.Lock()
	b.srv, b.active = srv, active
	b.mu.Unlock()
	go srv.Serve(ln)
	return nil
}

// Stop closes the listener and every connection at once, in-flight requests
// included, like a crashed server; it returns when the old handlers are gone (a dead
// process writes nothing more).
func (b *Backend) Stop() {
	b.mu.Lock()
	srv, active := b.srv, b.active
	b.srv = nil
	b.mu.Unlock()
	if srv != nil {
		srv.Close()
		active.Lock()
		active.Unlock()
	}
}

// Start brings a new tusd up on the same address and directory after Stop. Its lock
// state is fresh; the uploads on disk are what the old one left.
func (b *Backend) Start() error {
	ln, err := net.Listen("tcp", b.Addr)
	if err != nil {
		return err
	}
	return b.serve(ln)
}

// NewProxy puts the fault injector in a reverse proxy in front of b, so requests reach
// tusd over a real socket and a stopped backend answers 502 like a real gateway. The
// Host header is passed through, so tusd's Locations point at the proxy.
func NewProxy(b *Backend) *Server {
	s := NewProxyTo(b.Addr, nil)
	s.Dir = b.Dir
	if b.opts.S3 != nil {
		s.open = b.download
	}
	return s
}

// download reads a finished upload back through tusd's GET (the S3 store keeps it in
// the bucket, not in Dir).
func (b *Backend) download(uploadURL string) (io.ReadCloser, error) {
	u, err := url.Parse(uploadURL)
	if err != nil {
		return nil, err
	}
	resp, err := http.Get("http://" + b.Addr + u.Path)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", u.Path, resp.Status)
	}
	return resp.Body, nil
}

// NewProxyTo puts the fault injector in a reverse proxy in front of the tus server at
// addr (host:port), passing the Host header through so that its Locations point at
// the proxy; open reads back what it stored for an upload URL (nil: a file in Dir
// named after the URL's last segment).
func NewProxyTo(addr string, open func(uploadURL string) (io.ReadCloser, error)) *Server {
	target := &url.URL{Scheme: "http", Host: addr}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
		ErrorLog: log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the client went away; there is nobody to answer
			}
			http.Error(w, "proxy: tusd unreachable: "+err.Error(), http.StatusBadGateway)
		},
	}
	return &Server{next: rp, open: open}
}
