// Command demo serves tuswasm's demo page and js/ package with tusd v2 embedded at
// /files/, storing uploads in a local folder; and a second page with Uppy's Dashboard on
// tuswasm's uploader plugin, whose Uppy bundle `make demo` fetches.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tuswasm/tuswasm/internal/tusdserver"
)

//go:embed index.html demo.js demo.css uppy.html uppy-demo.js
var page embed.FS

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	dir := flag.String("dir", "uploads", "folder for uploaded files")
	jsDir := flag.String("js", "js", "the built js/ package (make build)")
	uppyDir := flag.String("uppy", "web/demo/.vendor/uppy", "Uppy's bundle for the Uppy page (make demo fetches it)")
	verbose := flag.Bool("v", false, "log every tus request")
	flag.Parse()
	if err := run(*addr, *dir, *jsDir, *uppyDir, *verbose); err != nil {
		log.Fatal(err)
	}
}

func run(addr, dir, jsDir, uppyDir string, verbose bool) error {
	if _, err := os.Stat(filepath.Join(jsDir, "tuswasm.wasm")); err != nil {
		return fmt.Errorf("%s/tuswasm.wasm is missing: run `make build` (or `make demo`) first", jsDir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	h, err := newHandler(dir, jsDir, uppyDir, verbose)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(dir)
	fmt.Printf("tuswasm demo: http://%s/  (uploads go to %s; Ctrl-C stops)\n", ln.Addr(), abs)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newHandler(dir, jsDir, uppyDir string, verbose bool) (http.Handler, error) {
	// The IETF draft too (protocol: 'ietf-draft-05'): tusd answers each request in the
	// protocol it names, so tus 1.0.0 pages are unaffected.
	opts := tusdserver.Options{EnableExperimentalProtocol: true}
	if verbose {
		opts.Log = os.Stderr
	}
	tusd, err := tusdserver.New(dir, opts)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/files/", tusd)
	mux.Handle("/files", tusd)
	// Go's mime table maps .wasm to application/wasm, which instantiateStreaming needs.
	mux.Handle("/js/", http.StripPrefix("/js/", http.FileServer(http.Dir(jsDir))))
	mux.Handle("/vendor/uppy/", http.StripPrefix("/vendor/uppy/", http.FileServer(http.Dir(uppyDir))))
	sub, err := fs.Sub(page, ".")
	if err != nil {
		return nil, err
	}
	mux.Handle("/", http.FileServer(http.FS(sub)))
	return mux, nil
}
