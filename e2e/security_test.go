package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// cspPolicy is served with csp.html: no inline script, no eval, only
// WebAssembly compilation ('wasm-unsafe-eval') and same-origin connections.
const cspPolicy = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; style-src 'self'"

// headerLog records what credentials-bearing headers a server saw.
type headerLog struct {
	mu   sync.Mutex
	seen []string // "METHOD header"
}

func (l *headerLog) fault(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Header.Get("Authorization") != "" {
		l.seen = append(l.seen, r.Method+" Authorization")
	}
	if r.Header.Get("Cookie") != "" {
		l.seen = append(l.seen, r.Method+" Cookie")
	}
	if strings.Contains(strings.ToLower(r.Header.Get("Access-Control-Request-Headers")), "authorization") {
		l.seen = append(l.seen, r.Method+" preflight for Authorization")
	}
	return false
}

func (l *headerLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.seen
	l.seen = nil
	return s
}

// The endpoint's origin (the page's, here) creates uploads that live on another
// origin. Custom headers and cookies go to the endpoint only, unless the other origin
// is in allowedOrigins; a redirect is not followed at all.
func TestCredentialsStayOnConfiguredOrigins(t *testing.T) {
	e := newEnv(t)
	_, storage, storageOrigin := serveTusd(t, nil) // another port: another origin, same site
	var onStorage headerLog
	storage.Inject(onStorage.fault)
	var onEndpoint headerLog
	e.tusd.Inject(onEndpoint.fault)
	// The endpoint creates each upload on the storage server and points there (or,
	// when redirecting, redirects there).
	var redirect atomic.Bool
	e.tusd.Inject(tusdtest.Respond(func(r *http.Request) bool { return r.Method == http.MethodPost && redirect.Load() },
		http.StatusTemporaryRedirect, http.Header{"Location": {storageOrigin + "/files/"}}, ""))
	e.tusd.Inject(tusdtest.CreateOn(storageOrigin + "/files/"))
	const size = 3*chunk + 5
	upload := func(seed int, opts string) outcome {
		return eval[outcome](e, fmt.Sprintf(`run(() => {
			document.cookie = 'sid=s3cret; SameSite=Lax'
			return tus.createAndUpload(makeFile(%d, %d), {endpoint: '/files/', chunkSize: %d, storage: false,
				headers: {Authorization: 'Bearer s3cret'}, %s})
		})`, size, seed, chunk, opts))
	}

	// Default: the endpoint gets the header (and, with 'include', the cookie); the
	// storage origin gets neither, and its CORS policy (no Allow-Credentials) is
	// satisfied because credentials are omitted there.
	r := upload(50, `credentials: 'include'`).result(t)
	if !strings.HasPrefix(r.URL, storageOrigin) {
		t.Fatalf("upload landed at %s, not on the storage origin", r.URL)
	}
	storage.AssertStored(t, r.URL, pattern(size, 50))
	if seen := onStorage.take(); len(seen) != 0 {
		t.Fatalf("the other origin received %v", seen)
	}
	if seen := onEndpoint.take(); !slices.Contains(seen, "POST Authorization") || !slices.Contains(seen, "POST Cookie") {
		t.Fatalf("the endpoint saw %v, want its Authorization header and cookie", seen)
	}

	// Opted in: the storage origin gets the header too.
	r = upload(51, fmt.Sprintf(`allowedOrigins: [%q]`, storageOrigin)).result(t)
	storage.AssertStored(t, r.URL, pattern(size, 51))
	if seen := onStorage.take(); !slices.Contains(seen, "PATCH Authorization") {
		t.Fatalf("an allowed origin saw %v, want the Authorization header", seen)
	}

	// A redirect toward the storage origin is not followed: nothing reaches it.
	redirect.Store(true)
	before := len(storage.Requests())
	if o := upload(52, ""); o.OK || o.Code != "REDIRECT" {
		t.Fatalf("redirect: %+v, want REDIRECT", o)
	}
	if n := len(storage.Requests()) - before; n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}

// localStorage keeps only URL, size, time and fingerprint: no header, credential or
// metadata value. storage: 'memory' keeps even the URL out of it; an entry pointing at
// an origin the call does not trust is never used.
func TestStorageHoldsNoSecrets(t *testing.T) {
	e := newEnv(t)
	const size = 6 * chunk
	const name = "tax-return-2026.pdf"
	pause := func(key, opts string) {
		h := holdNth(t, e.tusd, http.MethodPatch, 2, true) // counts from now on
		startIn(e, e.tab, fmt.Sprintf(`bg(%q, () => {
			window.ctl = new AbortController()
			return tus.createAndUpload(makeFile(%d, 60, %q), {endpoint: '/files/', chunkSize: %d, signal: ctl.signal,
				metadata: {filename: %q}, headers: {Authorization: 'Bearer s3cret'}, %s})
		})`, key, size, name, chunk, name, opts))
		waitChan(t, "the second PATCH", h.arrived)
		eval[any](e, `ctl.abort()`)
		if o := e.waitDone(key); o.Name != "AbortError" {
			t.Fatalf("pause: %+v", o)
		}
	}
	entries := func() map[string]string {
		return eval[map[string]string](e, `Object.fromEntries(Object.entries(localStorage).filter(([k]) => k.startsWith('tuswasm::')))`)
	}

	pause("a", "")
	stored := entries()
	if len(stored) != 1 {
		t.Fatalf("localStorage holds %d entries, want 1", len(stored))
	}
	for k, v := range stored {
		for _, secret := range []string{"s3cret", name, base64.StdEncoding.EncodeToString([]byte(name))} {
			if strings.Contains(k+v, secret) {
				t.Fatalf("localStorage entry %s = %s contains %q", k, v, secret)
			}
		}
		var fields map[string]any
		if err := json.Unmarshal([]byte(v), &fields); err != nil {
			t.Fatal(err)
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range fields {
				if !yield(k) {
					return
				}
			}
		})
		// Besides what a resume needs: how far bytes were offered (offered) and the use
		// (usedAt, activeUntil), numbers and dates of no one's secret.
		allowed := []string{"activeUntil", "createdAt", "fingerprint", "offered", "size", "url", "usedAt"}
		for _, k := range keys {
			if !slices.Contains(allowed, k) {
				t.Fatalf("stored fields %v: %s is not one of %v", keys, k, allowed)
			}
		}
		for _, k := range []string{"createdAt", "fingerprint", "size", "url"} {
			if !slices.Contains(keys, k) {
				t.Fatalf("stored fields %v lack %s", keys, k)
			}
		}
	}

	// Point the entry at another origin: it must not be resumed there.
	_, other, otherOrigin := serveTusd(t, nil)
	for k, v := range stored {
		var u engine.StoredUpload
		_ = json.Unmarshal([]byte(v), &u)
		u.URL = otherOrigin + "/files/" + u.URL[strings.LastIndex(u.URL, "/")+1:]
		b, _ := json.Marshal(u)
		eval[any](e, fmt.Sprintf(`localStorage.setItem(%q, %q)`, k, b))
	}
	posts := e.tusd.Count(http.MethodPost)
	o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 60, %q), {endpoint: '/files/', chunkSize: %d}))`, size, name, chunk))
	r := o.result(t)
	if r.Resumed || e.tusd.Count(http.MethodPost) != posts+1 || len(other.Requests()) != 0 {
		t.Fatalf("a foreign stored URL was used: %+v, %d requests to it", r, len(other.Requests()))
	}
	e.tusd.AssertStored(t, r.URL, pattern(size, 60))

	// storage: 'memory': pause and resume within the page, nothing persisted.
	pause("m", `storage: 'memory'`)
	if n := len(entries()); n != 0 {
		t.Fatalf("storage 'memory' wrote %d localStorage entries", n)
	}
	posts = e.tusd.Count(http.MethodPost)
	o = eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 60, %q), {endpoint: '/files/', chunkSize: %d, storage: 'memory'}))`, size, name, chunk))
	if r := o.result(t); !r.Resumed || e.tusd.Count(http.MethodPost) != posts {
		t.Fatalf("memory storage did not resume: %+v", r)
	}
}

// Header and metadata values cannot inject headers; metadata values of any bytes
// arrive intact (base64).
func TestNoHeaderInjection(t *testing.T) {
	e := newEnv(t)
	for name, opts := range map[string]string{
		"CRLF in a header value":  `headers: {'X-Note': 'a\r\nX-Injected: 1'}`,
		"LF in a header value":    `headers: {'X-Note': 'a\nb'}`,
		"bad header name":         `headers: {'X Note': 'a'}`,
		"CRLF in a metadata key":  `metadata: {'a\r\nX-Injected': '1'}`,
		"comma in a metadata key": `metadata: {'a,b': '1'}`,
		"non-ASCII metadata key":  `metadata: {'naïve': '1'}`,
	} {
		o := eval[outcome](e, `run(() => tus.createAndUpload(makeFile(10, 1), {endpoint: '/files/', `+opts+`}))`)
		if o.OK || o.Code != "INVALID_OPTION" {
			t.Errorf("%s: %+v, want INVALID_OPTION", name, o)
		}
	}
	if n := len(e.tusd.Requests()); n != 0 {
		t.Fatalf("%d requests sent with invalid options", n)
	}
	const value = "line one\r\nX-Injected: 1\x00, ünïcode"
	o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(10, 1), {endpoint: '/files/', storage: false, metadata: {note: %q}}))`, value))
	r := o.result(t)
	e.tusd.AssertStored(t, r.URL, pattern(10, 1))
	resp, err := http.DefaultClient.Do(headReq(t, r.URL))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	md, err := engine.DecodeMetadata(resp.Header.Get("Upload-Metadata"))
	if err != nil || md["note"] != value || resp.Header.Get("X-Injected") != "" {
		t.Fatalf("metadata %q, %v", md, err)
	}
}

// A page under a strict Content-Security-Policy (no inline script, no eval; only
// 'wasm-unsafe-eval') runs tuswasm.
func TestStrictCSP(t *testing.T) {
	e := newEnv(t)
	e.open(e.tab, "/csp.html")
	const size = 2*chunk + 9
	o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 70), {endpoint: '/files/', chunkSize: %d}))`, size, chunk))
	e.tusd.AssertStored(t, o.result(t).URL, pattern(size, 70))
	if got := eval[string](e, `document.title`); !strings.Contains(got, "CSP") {
		t.Fatalf("not the CSP page: %q", got)
	}
}

// An uploadUrl the caller passed keeps its trust through pause and resume, however
// it was written (relative, a URL object): the caller's headers still go to it.
func TestUploadURLTrustAfterResume(t *testing.T) {
	e := newEnv(t)
	const size = 4 * chunk
	var mu sync.Mutex
	missing := 0
	e.tusd.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method != http.MethodPatch && r.Method != http.MethodHead || r.Header.Get("X-Token") == "t" {
			return false
		}
		mu.Lock()
		missing++
		mu.Unlock()
		w.Header().Set("Tus-Resumable", "1.0.0")
		w.WriteHeader(http.StatusUnauthorized)
		return true
	})
	for i, form := range []string{`new URL(url)`, `new URL(url).pathname`} {
		seed := 210 + i
		url := eval[string](e, fmt.Sprintf(`tus.create(makeFile(%d, %d), {endpoint: '/files/'})`, size, seed))
		h := holdNth(t, e.tusd, http.MethodPatch, 2, true)
		startIn(e, e.tab, fmt.Sprintf(`bg('t%d', () => {
			const url = %q
			window.up = new tus.Upload(makeFile(%d, %d), {uploadUrl: %s, headers: {'X-Token': 't'},
				chunkSize: %d, adaptiveChunkSize: false, storage: false, retry: {maxRetries: 0}})
			up.start()
			return up.done
		})`, i, url, size, seed, form, chunk))
		waitChan(t, "the second PATCH", h.arrived)
		eval[any](e, `up.pause().then(() => up.resume())`)
		o := e.waitDone(fmt.Sprintf("t%d", i))
		if !o.OK {
			t.Errorf("uploadUrl as %s: after pause and resume %+v (the caller's headers were dropped)", form, o)
			continue
		}
		e.tusd.AssertStored(t, o.result(t).URL, pattern(size, uint32(seed)))
	}
}
