package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// viteApp builds e2e/testdata/viteapp (its npm packages pinned by its lockfile) with
// the packed package installed by name, as a bundler user's app has it, once per run,
// and returns its dist/.
func viteApp(t *testing.T) string {
	t.Helper()
	vite.once.Do(func() { vite.dist, vite.err = buildViteApp() })
	if vite.err != nil {
		t.Fatal(vite.err)
	}
	return vite.dist
}

// viteHandler serves the Vite app's dist/, and problems.js, which its Uppy page loads
// for the cross-browser smoke (which reads window.problems).
func viteHandler(t *testing.T) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(viteApp(t))))
	mux.Handle("/problems.js", http.FileServer(http.Dir(filepath.Join(repoRoot, "e2e", "testdata"))))
	return mux
}

var vite struct {
	once sync.Once
	dist string
	err  error
}

func buildViteApp() (string, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("npm is needed (make test installs it): %w", err)
	}
	dir := filepath.Join(buildDir, "vite")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	run := func(wd string, name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.Dir = wd
		cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s %v: %w\n%s", name, args, err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	tarball, err := run(filepath.Join(buildDir, "js"), npm, "pack", "--silent", "--pack-destination", dir)
	if err != nil {
		return "", err
	}
	app := filepath.Join(dir, "app")
	if err := os.CopyFS(app, os.DirFS(filepath.Join(repoRoot, "e2e", "testdata", "viteapp"))); err != nil {
		return "", err
	}
	for _, args := range [][]string{
		{npm, "ci", "--loglevel=error"},
		{npm, "install", "--no-save", "--loglevel=error", filepath.Join(dir, tarball)},
		{"node", "node_modules/vite/bin/vite.js", "build", "--logLevel", "warn"},
	} {
		if _, err := run(app, args[0], args[1:]...); err != nil {
			return "", err
		}
	}
	return filepath.Join(app, "dist"), nil
}

// The package as bundler users consume it: packed with npm pack, installed by name in a
// tiny Vite app, built with vite build, served from dist/ and used in Chromium, in
// main-thread and worker mode. Vite copies an asset only when it is referenced as
// new URL('./literal', import.meta.url) or imported; this test fails when the built
// app lacks the wasm or the worker.
func TestViteBuild(t *testing.T) {
	dist := viteApp(t)
	var assets []string
	_ = filepath.WalkDir(dist, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			assets = append(assets, filepath.Base(p))
		}
		return nil
	})
	t.Logf("dist: %v", assets)
	if !strings.Contains(strings.Join(assets, " "), ".wasm") {
		t.Fatalf("vite build left the wasm out of dist/: %v", assets)
	}
	for i, page := range []string{"/index.html", "/index.html?worker"} {
		t.Run(page, func(t *testing.T) {
			e := newEnvServing(t, http.FileServer(http.Dir(dist)), page)
			size, seed := 3*chunk+5, 130+i
			o := eval[outcome](e, fmt.Sprintf(`(async () => {
				try {
					const f = new File([pattern(%d, %d)], 'v.bin')
					return {ok: true, value: await tus.createAndUpload(f, {endpoint: '/files/', chunkSize: %d, storage: false})}
				} catch (e) { return {ok: false, name: e.name, code: e.code, message: String(e.message)} }
			})()`, size, seed, chunk))
			e.tusd.AssertStored(t, o.result(t).URL, pattern(size, uint32(seed)))
		})
	}
}
