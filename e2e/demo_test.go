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
	srv := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-dir", uploads, "-js", filepath.Join(buildDir, "js"))
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
	state := evalIn[string](e, tab, `new Promise((resolve, reject) => {
		const t0 = Date.now()
		const tick = () => {
			const s = document.querySelector('.uploads .state')
			if (s && (s.classList.contains('done') || s.classList.contains('error'))) return resolve(s.textContent)
			if (Date.now() - t0 > 60000) return reject(new Error('upload never finished'))
			setTimeout(tick, 20)
		}
		tick()
	})`)
	if !strings.HasPrefix(state, "Done") {
		t.Fatalf("demo shows %q", state)
	}
	path := screenshot(e, tab, "demo")
	t.Logf("screenshot: %s", path)

	// Find the upload by its metadata and compare the bytes.
	infos, _ := filepath.Glob(filepath.Join(uploads, "*.info"))
	for _, info := range infos {
		b, err := os.ReadFile(info)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct{ MetaData map[string]string }
		if json.Unmarshal(b, &meta) == nil && meta.MetaData["filename"] == "holiday-video.mp4" {
			got, err := os.ReadFile(strings.TrimSuffix(info, ".info"))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(data) || sum(got) != sum(data) {
				t.Fatalf("stored %d bytes (sha256 %s), want %d (%s)", len(got), sum(got)[:12], len(data), sum(data)[:12])
			}
			return
		}
	}
	t.Fatalf("no upload named holiday-video.mp4 in %s (%d .info files)", uploads, len(infos))
}
