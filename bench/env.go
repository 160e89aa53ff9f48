package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/tuswasm/tuswasm/internal/headless"
	"github.com/tuswasm/tuswasm/internal/tusdserver"
)

// startRunner starts the servers and the browser and opens the bench page; stop
// closes the browser and removes the files.
func startRunner(res *results) (_ *runner, _ func(), err error) {
	// Locals, not the named results: a failed start returns nils before stop runs.
	var undo []func()
	stop := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	r := &runner{}
	if r.uploads, err = os.MkdirTemp(*store, "tuswasm-bench-"); err != nil {
		return nil, nil, err
	}
	undo = append(undo, func() { os.RemoveAll(r.uploads) })
	if r.inputs, err = os.MkdirTemp("", "tuswasm-bench-files-"); err != nil {
		return nil, nil, err
	}
	undo = append(undo, func() { os.RemoveAll(r.inputs) })
	if err := serve(r, res); err != nil {
		return nil, nil, err
	}
	tab, closeBrowser, err := startBrowser(res)
	if err != nil {
		return nil, nil, err
	}
	r.tab = tab
	undo = append(undo, closeBrowser)
	if err := headless.Navigate(tab, r.origin+"/bench.html"); err != nil {
		return nil, nil, err
	}
	if err := settle(tab); err != nil {
		return nil, nil, err
	}
	return r, stop, nil
}

// serve starts tusd (behind a timeline of its requests, the per-connection cap on
// request bodies, off but in the parallel run, and the added latency, 0 but in the
// small-files run), the discard handler, the built js/ package, tus-js-client and the
// bench page on one loopback origin, and sets r's origin, tl, connCap and lat.
func serve(r *runner, res *results) error {
	tusd, err := tusdserver.New(r.uploads, tusdserver.Options{})
	if err != nil {
		return err
	}
	r.tl = &timeline{next: tusd}
	r.connCap = &connCap{next: r.tl}
	r.lat = &latency{next: r.connCap}
	lat := r.lat
	if b, err := os.ReadFile(filepath.Join(*tusJS, "package.json")); err == nil {
		var pkg struct{ Version string }
		_ = json.Unmarshal(b, &pkg)
		res.Versions["tus-js-client"] = pkg.Version
	} else {
		return fmt.Errorf("tus-js-client not installed (make bench installs it): %w", err)
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/tus/tusd/v2" {
				res.Versions["tusd"] = d.Version
			}
		}
	}
	pageFS, _ := fs.Sub(page, "page")
	mux := http.NewServeMux()
	mux.Handle("/files/", lat)
	mux.Handle("/files", lat)
	mux.HandleFunc("/discard", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	cached := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=3600")
			h.ServeHTTP(w, r)
		})
	}
	mux.Handle("/js/", cached(http.StripPrefix("/js/", http.FileServer(http.Dir(*jsDir)))))
	floorDir := filepath.Join(r.inputs, "floor")
	if err := os.Mkdir(floorDir, 0o755); err != nil {
		return err
	}
	if err := buildFloor(floorDir); err != nil {
		return err
	}
	mux.Handle("/floor/", cached(http.StripPrefix("/floor/", http.FileServer(http.Dir(floorDir)))))
	mux.Handle("/vendor/tus.min.js", cached(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(*tusJS, "dist", "tus.min.js"))
	})))
	mux.Handle("/vendor/uppy/", cached(http.StripPrefix("/vendor/uppy/", http.FileServer(http.Dir(*uppyDir)))))
	if b, err := os.ReadFile(filepath.Join(*uppyDir, "VERSION")); err == nil {
		res.Versions["uppy"] = strings.TrimSpace(string(b))
	}
	mux.Handle("/", http.FileServer(http.FS(pageFS)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// ConnContext: the cap's buckets are per connection.
	go (&http.Server{Handler: mux, ConnContext: r.connCap.connContext}).Serve(ln)
	r.origin = "http://" + ln.Addr().String()
	return nil
}

func startBrowser(res *results) (context.Context, func(), error) {
	profile, err := os.MkdirTemp("", "tuswasm-bench-profile-")
	if err != nil {
		return nil, nil, err
	}
	opts := headless.Options(*chromium, profile, // as the e2e suite, plus exact memory readings
		chromedp.Flag("enable-precise-memory-info", true),
		chromedp.Flag("js-flags", "--expose-gc"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	stop := func() { cancel(); cancelAlloc(); os.RemoveAll(profile) }
	if err := chromedp.Do(ctx); err != nil {
		stop()
		return nil, nil, fmt.Errorf("starting Chromium: %w", err)
	}
	if v, err := chromedp.Call(ctx, browser.GetVersion, cdp.Empty{}); err == nil {
		res.Versions["chromium"] = v.Product
	}
	return ctx, stop, nil
}

// evalTimeout bounds one evaluation in the page, such as a whole 1 GiB upload.
const evalTimeout = 5 * time.Minute

func eval[T any](tab context.Context, js string) (T, error) {
	ctx, cancel := context.WithTimeout(tab, evalTimeout)
	defer cancel()
	return headless.Eval[T](ctx, js)
}

// settle waits for the bench page's tuswasm (headless.Settle).
func settle(tab context.Context) error {
	ctx, cancel := context.WithTimeout(tab, evalTimeout)
	defer cancel()
	return headless.Settle(ctx, `benchReady`)
}

func reload(tab context.Context) error {
	if err := headless.Reload(tab); err != nil {
		return err
	}
	return settle(tab)
}

// measureWasm records the wasm's size, raw and compressed.
func measureWasm(res *results) error {
	wasm, err := os.ReadFile(filepath.Join(*jsDir, "tuswasm.wasm"))
	if err != nil {
		return fmt.Errorf("%w (run make build)", err)
	}
	res.WasmRaw, res.WasmGzip, res.WasmBrotli = len(wasm), gzipSize(wasm), brotliSize(wasm)
	log.Printf("wasm: %d raw, %d gzip, %d brotli", res.WasmRaw, res.WasmGzip, res.WasmBrotli)
	pkgs, err := wasmPackages()
	if err != nil {
		return err
	}
	res.WasmPackages = pkgs[:min(len(pkgs), 10)]
	for _, p := range res.WasmPackages {
		log.Printf("  %-44s %5d functions %8d B code, %6d B brotli alone", p.Package, p.Funcs, p.Bytes, p.Brotli)
	}
	return nil
}

func gzipSize(b []byte) int {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Len()
}

func brotliSize(b []byte) int {
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, brotli.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Len()
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			if kb, err := strconv.Atoi(f[1]); err == nil {
				mem = fmt.Sprintf(", %d GiB RAM", (kb+(1<<19))>>20)
			}
		}
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	return fmt.Sprintf("%d × %s%s, %s", runtime.NumCPU(), cpu, mem, strings.TrimSpace(string(kernel)))
}
