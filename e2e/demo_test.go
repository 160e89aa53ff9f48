package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The demo server (what `make demo` runs) serves a page on which a person picks a file
// and it lands, byte for byte, in the uploads folder.
func TestDemoPageUploads(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "demo")
	build := exec.Command("go", "build", "-o", bin, "./web/demo")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the demo: %v\n%s", err, out)
	}
	uploads := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-dir", uploads, "-js", filepath.Join(buildDir, "js"),
		"-uppy", filepath.Join(repoRoot, "web", "demo", ".vendor", "uppy"))
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = srv.Wait() })
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := regexp.MustCompile(`http://[0-9.:]+/`).FindString(sc.Text()); m != "" {
				urlCh <- m
			}
		}
	}()
	var url string
	select {
	case url = <-urlCh:
	case <-time.After(30 * time.Second):
		t.Fatal("the demo server did not print its URL")
	}

	e := &env{t: t}
	tab, closeTab := chromedp.NewContext(browserCtx)
	defer closeTab()
	if err := chromedp.Listen(tab, e.watch); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range e.problems {
			t.Errorf("browser: %s", p)
		}
	})
	nav, cancelNav := context.WithTimeout(tab, 30*time.Second)
	defer cancelNav()
	if err := chromedp.Do(nav, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	evalIn[bool](e, tab, `new Promise(r => { const t = () => window.tuswasmDemoReady ? r(true) : setTimeout(t, 10); t() })`)

	data := pattern(3<<20+17, 42)
	file := filepath.Join(t.TempDir(), "holiday-video.mp4")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	setFiles(t, tab, "#picker", file)
	if state := demoState(e, tab); !strings.HasPrefix(state, "Done") {
		t.Fatalf("demo shows %q", state)
	}
	path := screenshot(e, tab, "demo")
	t.Logf("screenshot: %s", path)

	if got := storedNamed(t, uploads, "holiday-video.mp4"); len(got) != len(data) || sum(got) != sum(data) {
		t.Fatalf("stored %d bytes (sha256 %s), want %d (%s)", len(got), sum(got)[:12], len(data), sum(data)[:12])
	}

	// A paused upload, after a reload, is listed by its name (which the page keeps, not
	// the library; while it runs it is not listed) and resumes when picked again. The
	// link is throttled so that the pause comes before the end.
	big := pattern(24<<20, 43)
	file2 := filepath.Join(t.TempDir(), "beach.mov")
	if err := os.WriteFile(file2, big, 0o644); err != nil {
		t.Fatal(err)
	}
	throttle(t, tab, 2<<20)
	setFiles(t, tab, "#picker", file2)
	evalIn[bool](e, tab, `new Promise(r => { const t = () => document.querySelector('.uploads .state')?.textContent === 'Uploading…' &&
		document.querySelector('#resumable-section').hidden ? r(true) : setTimeout(t, 10); t() })`)
	if err := chromedp.Do(nav, chromedp.Click(".uploads li button")); err != nil { // Pause
		t.Fatal(err)
	}
	evalIn[bool](e, tab, `new Promise(r => { const t = () => document.querySelector('.uploads .state')?.textContent === 'Paused' ? r(true) : setTimeout(t, 10); t() })`)
	throttle(t, tab, -1)
	if err := chromedp.Do(nav, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	listed := evalIn[string](e, tab, `new Promise(r => { const t = () => window.tuswasmDemoReady && !document.querySelector('#resumable-section').hidden ?
		r(document.querySelector('#resumable .name').textContent) : setTimeout(t, 10); t() })`)
	if listed != "beach.mov" {
		t.Fatalf("the resumable list shows %q, want the file's name", listed)
	}
	setFiles(t, tab, "#picker", file2)
	if state := demoState(e, tab); !strings.HasPrefix(state, "Done (resumed)") {
		t.Fatalf("demo shows %q, want a resumed upload", state)
	}
	if got := storedNamed(t, uploads, "beach.mov"); len(got) != len(big) || sum(got) != sum(big) {
		t.Fatalf("stored %d bytes, want %d", len(got), len(big))
	}

	// The worker switch reloads the page with tuswasm in a Web Worker, which uploads.
	if err := chromedp.Do(nav, chromedp.Click("#worker")); err != nil {
		t.Fatal(err)
	}
	evalIn[bool](e, tab, `new Promise(r => { const t = () => window.tuswasmDemoReady && location.search === '?worker' ? r(true) : setTimeout(t, 10); t() })`)
	if status := evalIn[string](e, tab, `document.querySelector('#status').textContent`); !strings.Contains(status, "Web Worker") {
		t.Fatalf("status %q after switching to worker mode", status)
	}
	small := pattern(1<<20+3, 44)
	file3 := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file3, small, 0o644); err != nil {
		t.Fatal(err)
	}
	setFiles(t, tab, "#picker", file3)
	if state := demoState(e, tab); !strings.HasPrefix(state, "Done") {
		t.Fatalf("worker mode: demo shows %q", state)
	}
	if got := storedNamed(t, uploads, "notes.txt"); sum(got) != sum(small) {
		t.Fatal("worker mode: stored bytes differ")
	}

	// The link to the Uppy page: Uppy's Dashboard on tuswasm's plugin uploads too.
	if err := chromedp.Do(nav, chromedp.Click(`a[href="uppy.html"]`)); err != nil {
		t.Fatal(err)
	}
	evalIn[bool](e, tab, `new Promise(r => { const t = () => window.tuswasmDemoReady && window.uppy ? r(true) : setTimeout(t, 10); t() })`)
	photo := pattern(2<<20+9, 45)
	file4 := filepath.Join(t.TempDir(), "photo.jpg")
	if err := os.WriteFile(file4, photo, 0o644); err != nil {
		t.Fatal(err)
	}
	setFiles(t, tab, `.uppy-Dashboard-input[name="files[]"]:not([webkitdirectory])`, file4)
	evalIn[bool](e, tab, `new Promise(r => { const t = () => { const b = document.querySelector('.uppy-StatusBar-actionBtn--upload'); b ? r(b.click() ?? true) : setTimeout(t, 10) }; t() })`)
	if s := evalIn[string](e, tab, `new Promise((resolve, reject) => { const t0 = Date.now(); const t = () => {
		const s = document.querySelector('#status').textContent
		s.includes('stored at') || s.includes('error') ? resolve(s) : Date.now() - t0 > 60000 ? reject(new Error(s)) : setTimeout(t, 20) }; t() })`); !strings.Contains(s, "stored at") {
		t.Fatalf("Uppy page: %q", s)
	}
	t.Logf("screenshot: %s", screenshot(e, tab, "demo-uppy"))
	if got := storedNamed(t, uploads, "photo.jpg"); sum(got) != sum(photo) {
		t.Fatal("Uppy page: stored bytes differ")
	}
}

// demoState waits for the newest upload on the demo page to end and returns its state.
func demoState(e *env, tab context.Context) string {
	return evalIn[string](e, tab, `new Promise((resolve, reject) => {
		const t0 = Date.now()
		const tick = () => {
			const s = document.querySelector('.uploads .state')
			if (s && (s.classList.contains('done') || s.classList.contains('error'))) return resolve(s.textContent)
			if (Date.now() - t0 > 60000) return reject(new Error('upload never finished'))
			setTimeout(tick, 20)
		}
		tick()
	})`)
}

// throttle limits the tab's upload to bytesPerSecond (-1: no limit, and CDP's Network
// domain off again: it slows request bodies).
func throttle(t *testing.T, tab context.Context, bytesPerSecond float64) {
	t.Helper()
	var conds []*network.Conditions
	if bytesPerSecond > 0 {
		conds = []*network.Conditions{{DownloadThroughput: -1, UploadThroughput: bytesPerSecond}}
	}
	if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: conds}); err != nil {
		t.Fatal(err)
	}
	if bytesPerSecond <= 0 {
		if _, err := chromedp.Call(tab, network.Disable, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
}

// storedNamed returns the bytes of the upload in dir whose metadata names it.
func storedNamed(t *testing.T, dir, name string) []byte {
	t.Helper()
	infos, _ := filepath.Glob(filepath.Join(dir, "*.info"))
	for _, info := range infos {
		b, err := os.ReadFile(info)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct{ MetaData map[string]string }
		if json.Unmarshal(b, &meta) == nil && meta.MetaData["filename"] == name {
			got, err := os.ReadFile(strings.TrimSuffix(info, ".info"))
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
	}
	t.Fatalf("no upload named %s in %s (%d .info files)", name, dir, len(infos))
	return nil
}
