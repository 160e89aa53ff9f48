package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// In Firefox a page that defines navigator.userAgentData (Mozilla's own webcompat
// interventions do, e.g. bug 1898952; UA-CH polyfills do) makes core.js's wholeFiles()
// true, so a small File goes as itself: Firefox reads a File that grew on disk to its
// new end, past the Content-Length, and the extra bytes reach the server as a request
// of their own (what f2e9110 set out to prevent). Same as the smoke's file-grows, with
// the shim defined before the module starts.
func TestGrownFileWithUserAgentDataShim(t *testing.T) {
	for _, engine := range []string{"firefox", "webkit"} {
		t.Run(engine, func(t *testing.T) {
			page, err := startEngine(t, engine)
			if err != nil {
				t.Skipf("starting %s: %v", engine, err)
			}
			t.Cleanup(func() { page.Close() })
			s := newSmoke(t, engine, page)
			const size = 1000
			path := filepath.Join(t.TempDir(), "grows.zzz9")
			if err := writeFile(path, pattern(size, 206)); err != nil {
				t.Fatal(err)
			}
			s.start(`document.body.insertAdjacentHTML('beforeend', '<input type=file id=grows>')`)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := s.page.SetFiles(ctx, "#grows", []string{path}); err != nil {
				t.Fatalf("picking the file: %v", err)
			}
			if n := smokeEval[int](s, `(window.grows = document.querySelector('#grows').files[0]).size`); n != size {
				t.Fatalf("picked %d bytes, want %d", n, size)
			}
			// The shim, as Firefox's webcompat intervention for bug 1898952 writes it, then a
			// tuswasm module started after it (a fresh instance of index.js).
			smokeEval[any](s, `(async () => {
				if (!navigator.userAgentData) navigator.userAgentData = {brands: [{brand: 'Chromium', version: '1'}], mobile: false, platform: 'Linux'}
				window.tus2 = await import('/js/index.js?shim')
				await tus2.init()
				return null
			})()`)
			var smuggled atomic.Bool
			s.tusd.Inject(func(_ http.ResponseWriter, r *http.Request, _ http.Handler) bool {
				smuggled.Store(smuggled.Load() || strings.Contains(r.URL.Path, "smuggled"))
				return false
			})
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err == nil {
				_, err = f.WriteString("GET /files/smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
				f.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
			o := smokeEval[outcome](s, `run(() => tus2.createAndUpload(window.grows, {endpoint: '/files/', storage: false, retry: {maxRetries: 0}}))`)
			t.Logf("upload of the grown file: %+v", o)
			if o.OK {
				s.tusd.AssertStored(t, o.result(t).URL, pattern(size, 206))
			} else if o.Code != "FILE_CHANGED" {
				t.Errorf("upload of a file that grew: %+v, want success or FILE_CHANGED", o)
			}
			deadline := time.Now().Add(time.Second)
			for time.Now().Before(deadline) && !smuggled.Load() {
				time.Sleep(20 * time.Millisecond)
			}
			if smuggled.Load() {
				t.Fatal("the server got a request made of the bytes the file gained after it was picked")
			}
		})
	}
}
