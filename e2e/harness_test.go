// Package e2e drives headless Chromium (chromedp) against tuswasm's browser build and a
// real tusd v2, and checks every upload byte for byte on the server.
package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/tuswasm/tuswasm/internal/headless"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

var (
	chromiumPath = flag.String("chromium", "/usr/bin/chromium", "Chromium binary")
	artifacts    = flag.String("artifacts", "", "folder for screenshots (default e2e/artifacts)")
)

// browserCtx is the one browser every test opens tabs in; buildDir holds the wasm
// build the static server serves as /js/tuswasm.wasm and /js/wasm_exec.js.
var (
	browserCtx context.Context
	buildDir   string
	repoRoot   string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	if _, err := os.Stat(*chromiumPath); err != nil {
		return 0, fmt.Errorf("no Chromium at %s (make test installs it): %w", *chromiumPath, err)
	}
	var err error
	if repoRoot, err = filepath.Abs(".."); err != nil {
		return 0, err
	}
	if buildDir, err = os.MkdirTemp("", "tuswasm-e2e-"); err != nil {
		return 0, err
	}
	defer os.RemoveAll(buildDir)
	if err := buildWasm(buildDir); err != nil {
		return 0, err
	}
	profile := filepath.Join(buildDir, "profile")
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), headless.Options(*chromiumPath, profile)...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // start the browser now, without a timeout
		return 0, fmt.Errorf("starting Chromium: %w", err)
	}
	browserCtx = ctx
	code := m.Run()
	printMatrixSummary()
	printSoakSummary()
	printServersSummary()
	printBrowsersSummary()
	return code, nil
}

// buildWasm makes a complete js/ package in dir/js: `make build` (the one place that
// knows the module's build flags) brings js/ up to date, and its files are copied, so
// the suite never tests a stale build.
func buildWasm(dir string) error {
	out := filepath.Join(dir, "js")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	cmd := exec.Command("make", "-s", "build")
	cmd.Dir = repoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("make build: %v\n%s", err, b)
	}
	sources, err := filepath.Glob(filepath.Join(repoRoot, "js", "*"))
	if err != nil {
		return err
	}
	for _, src := range sources {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, filepath.Base(src)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// staticHandler serves the built js/ package and e2e/testdata/ (test pages).
func staticHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/js/", http.StripPrefix("/js/", http.FileServer(http.Dir(filepath.Join(buildDir, "js")))))
	pages := http.FileServer(http.Dir(filepath.Join(repoRoot, "e2e", "testdata")))
	mux.Handle("/", pages)
	// The policy a site that embeds tuswasm needs at the least (README, "Serving").
	mux.Handle("/csp.html", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", cspPolicy)
		pages.ServeHTTP(w, r)
	}))
	return mux
}

// env is one test's world: tusd on its own port (restartable) behind the fault proxy,
// the proxy and the static files on one loopback origin, and a browser tab on the
// test page.
type env struct {
	t       *testing.T
	backend *tusdtest.Backend
	tusd    *tusdtest.Server // the fault proxy: inject faults, count, check stored bytes
	origin  string
	page    string // what new tabs open
	tab     context.Context

	mu       sync.Mutex
	problems []string // console errors, exceptions, Go crashes
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvServing(t, staticHandler(), "/test.html")
}

// newEnvServing is newEnv with other pages: handler serves every path outside /files/,
// and the tab opens page.
func newEnvServing(t *testing.T, handler http.Handler, page string) *env {
	t.Helper()
	e := &env{t: t, page: page}
	e.backend, e.tusd, e.origin = serveTusd(t, handler)
	e.tab = e.newTab()
	return e
}

// serveTusd starts tusd behind a fault proxy on a loopback origin of its own, with
// other (when not nil) serving every path outside /files/.
func serveTusd(t *testing.T, other http.Handler) (*tusdtest.Backend, *tusdtest.Server, string) {
	t.Helper()
	// tusd speaks the IETF draft only to requests that name its interop version, so
	// every test may use either protocol.
	backend := tusdtest.StartBackend(t, "", tusdtest.Options{EnableExperimentalProtocol: true})
	proxy := tusdtest.NewProxy(backend)
	return backend, proxy, serveProxy(t, proxy, other)
}

// newEnvWithProxy is newEnv for a tus server of the caller's behind proxy (backend:
// tusd's, when it is tusd).
func newEnvWithProxy(t *testing.T, backend *tusdtest.Backend, proxy *tusdtest.Server) *env {
	t.Helper()
	e := &env{t: t, page: "/test.html", backend: backend, tusd: proxy}
	e.origin = serveProxy(t, proxy, staticHandler())
	e.tab = e.newTab()
	return e
}

// serveProxy serves the fault proxy at /files/ (and /files) on a loopback origin of
// its own, with other (when not nil) serving every other path, and returns the origin.
func serveProxy(t *testing.T, proxy *tusdtest.Server, other http.Handler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/files/", proxy)
	mux.Handle("/files", proxy)
	if other != nil {
		mux.Handle("/", other)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// newTab opens a tab on the test page, records its problems, and waits for tuswasm.
func (e *env) newTab() context.Context {
	e.t.Helper()
	tab, cancel := chromedp.NewContext(browserCtx)
	e.t.Cleanup(func() {
		cancel()
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, p := range e.problems {
			e.t.Errorf("browser: %s", p)
		}
	})
	if err := chromedp.Listen(tab, e.watch); err != nil {
		e.t.Fatal(err)
	}
	e.open(tab, e.page)
	return tab
}

func (e *env) open(tab context.Context, path string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := headless.Navigate(ctx, e.origin+path); err != nil {
		e.t.Fatalf("navigate: %v", err)
	}
	e.settle(tab)
}

// settle waits for the page's tuswasm to load (headless.Settle).
func (e *env) settle(tab context.Context) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(tab, 3*time.Minute)
	defer cancel()
	if err := headless.Settle(ctx, `window.tusReady`); err != nil {
		e.t.Fatalf("tuswasm did not initialise: %v", err)
	}
}

func (e *env) reload(tab context.Context) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := headless.Reload(ctx); err != nil {
		e.t.Fatalf("reload: %v", err)
	}
	e.settle(tab)
}

func (e *env) watch(ev any) {
	var p string
	switch ev := ev.(type) {
	case *cdpruntime.EventExceptionThrown:
		p = "uncaught exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			p += " " + ev.ExceptionDetails.Exception.Description
		}
	case *cdpruntime.EventConsoleAPICalled:
		text := consoleText(ev.Args)
		crashed := strings.Contains(text, "panic:") || strings.Contains(text, "fatal error:") ||
			strings.Contains(text, "Go program has already exited")
		if ev.Type == cdpruntime.ConsoleAPICalledTypeError || crashed {
			p = fmt.Sprintf("console.%s: %s", ev.Type, text)
		}
	}
	if p != "" {
		e.mu.Lock()
		e.problems = append(e.problems, p)
		e.mu.Unlock()
	}
}

func consoleText(args []*cdpruntime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		if len(a.Value) > 0 {
			var s string
			if json.Unmarshal(a.Value, &s) == nil {
				parts = append(parts, s)
				continue
			}
			parts = append(parts, string(a.Value))
		} else {
			parts = append(parts, a.Description)
		}
	}
	return strings.Join(parts, " ")
}

// eval runs JS in the test's tab, awaiting a returned promise.
func eval[T any](e *env, js string) T {
	e.t.Helper()
	return evalIn[T](e, e.tab, js)
}

func evalIn[T any](e *env, tab context.Context, js string) T {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(tab, 3*time.Minute)
	defer cancel()
	v, err := headless.Eval[T](ctx, js)
	if err != nil {
		e.t.Fatalf("evaluating %.200s: %v", js, err)
	}
	return v
}

// start runs JS without waiting for it (an upload the test will interrupt).
func startIn(e *env, tab context.Context, js string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`void (`+js+`)`)); err != nil {
		e.t.Fatalf("starting %.200s: %v", js, err)
	}
}

// outcome is what the page's run() helper returns.
type outcome struct {
	OK      bool            `json:"ok"`
	Value   json.RawMessage `json:"value"`
	Name    string          `json:"name"`
	Code    string          `json:"code"`
	Status  int             `json:"status"`
	Message string          `json:"message"`
}

type result struct {
	URL     string `json:"url"`
	Size    int64  `json:"size"`
	Resumed bool   `json:"resumed"`
}

func (o outcome) result(t *testing.T) result {
	t.Helper()
	if !o.OK {
		t.Fatalf("upload failed: %s %s: %s", o.Name, o.Code, o.Message)
	}
	var r result
	if err := json.Unmarshal(o.Value, &r); err != nil {
		t.Fatalf("result %s: %v", o.Value, err)
	}
	return r
}

// waitFor polls cond until it holds or the deadline passes (no sleeps as sync).
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// screenshot saves a PNG of the tab under the artifacts folder.
func screenshot(e *env, tab context.Context, name string) string {
	e.t.Helper()
	dir := *artifacts
	if dir == "" {
		dir = filepath.Join(repoRoot, "e2e", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		e.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}
