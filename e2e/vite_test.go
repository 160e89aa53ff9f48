package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// viteVersion is the Vite the bundler test builds with (npm registry, cached in ~/.npm).
const viteVersion = "7"

// The package as bundler users consume it: packed with npm pack, installed by name in a
// tiny Vite app, built with vite build, served from dist/ and used in Chromium, in
// main-thread and worker mode. Vite copies an asset only when it is referenced as
// new URL('./literal', import.meta.url) or imported; this test fails when the built
// app lacks the wasm or the worker.
func TestViteBuild(t *testing.T) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm is needed (make test installs it)")
	}
	dir := t.TempDir()
	run := func(wd string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = wd
		cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	tarball := strings.TrimSpace(run(filepath.Join(buildDir, "js"), npm, "pack", "--silent", "--pack-destination", dir))
	app := filepath.Join(dir, "app")
	if err := os.CopyFS(app, os.DirFS(filepath.Join(repoRoot, "e2e", "testdata", "viteapp"))); err != nil {
		t.Fatal(err)
	}
	pkg, _ := json.Marshal(map[string]any{"name": "viteapp", "private": true, "type": "module",
		"dependencies": map[string]string{"tuswasm": "file:../" + tarball}, "devDependencies": map[string]string{"vite": viteVersion}})
	if err := os.WriteFile(filepath.Join(app, "package.json"), pkg, 0o644); err != nil {
		t.Fatal(err)
	}
	run(app, npm, "install", "--loglevel=error")
	run(app, "node", "node_modules/vite/bin/vite.js", "build", "--logLevel", "warn")
	dist := filepath.Join(app, "dist")
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
