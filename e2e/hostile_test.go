package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// Hostile and broken servers: each ends the upload with a TusError carrying a precise
// code, promptly and within the retry budget — never a hang, crash or endless retry.
func TestHostileServers(t *testing.T) {
	e := newEnv(t)
	const maxRetries = 2
	// Every case runs in the one tab; a request header names the case so its fault
	// hits only its own requests.
	is := func(name, m string) func(*http.Request) bool {
		return func(r *http.Request) bool {
			return r.Header.Get("X-Case") == name && (m == "" || r.Method == m)
		}
	}
	rewrite := func(name, m, header, value string) tusdtest.Fault {
		return tusdtest.Rewrite(is(name, m), func(_ *int, h http.Header) {
			if value == "" {
				h.Del(header)
			} else {
				h.Set(header, value)
			}
		})
	}
	status := func(name, m string, code int) tusdtest.Fault {
		return tusdtest.Rewrite(is(name, m), func(s *int, _ http.Header) { *s = code })
	}
	drip := func(name, m string, code int) tusdtest.Fault {
		return tusdtest.Drip(is(name, m), code, http.Header{"Location": {"/files/dripping"}}, 100*time.Millisecond)
	}
	respond := func(name, m string, code int, h http.Header) tusdtest.Fault {
		return tusdtest.Respond(is(name, m), code, h, "")
	}
	cases := []struct {
		name  string
		fault tusdtest.Fault
		code  string
	}{
		{"no Location", rewrite("no Location", "POST", "Location", ""), "PROTOCOL"},
		{"javascript Location", rewrite("javascript Location", "POST", "Location", "javascript:alert(1)"), "PROTOCOL"},
		{"data Location", rewrite("data Location", "POST", "Location", "data:text/html,<b>hi</b>"), "PROTOCOL"},
		{"offset backwards", rewrite("offset backwards", "PATCH", "Upload-Offset", "1"), "PROTOCOL"},
		{"offset past length", rewrite("offset past length", "PATCH", "Upload-Offset", "99999999"), "PROTOCOL"},
		{"offset negative", rewrite("offset negative", "PATCH", "Upload-Offset", "-5"), "PROTOCOL"},
		{"offset not a number", rewrite("offset not a number", "PATCH", "Upload-Offset", "12abc"), "PROTOCOL"},
		{"offset huge", rewrite("offset huge", "PATCH", "Upload-Offset", "99999999999999999999999999"), "PROTOCOL"},
		{"no Tus-Resumable", rewrite("no Tus-Resumable", "PATCH", "Tus-Resumable", ""), "PROTOCOL"},
		{"Tus-Resumable 0.2.2", rewrite("Tus-Resumable 0.2.2", "POST", "Tus-Resumable", "0.2.2"), "PROTOCOL"},
		{"200 instead of 204", status("200 instead of 204", "PATCH", http.StatusOK), "PROTOCOL"},
		{"redirect loop", respond("redirect loop", "POST", http.StatusTemporaryRedirect, http.Header{"Location": {"/files/"}}), "REDIRECT"},
		{"redirect on PATCH", respond("redirect on PATCH", "PATCH", http.StatusPermanentRedirect, http.Header{"Location": {"/files/x"}}), "REDIRECT"},
		{"dripping error body", drip("dripping error body", "PATCH", http.StatusInternalServerError), "HTTP"},
		{"huge Location", rewrite("huge Location", "POST", "Location", "/files/"+strings.Repeat("a", 100<<10)), "PROTOCOL"},
		{"enormous header", rewrite("enormous header", "POST", "X-Padding", strings.Repeat("a", 512<<10)), "NETWORK"},
		{"HTML page", func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if !is("HTML page", "")(r) {
				return false
			}
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<!doctype html><title>Welcome</title><p>Not tus.")
			return true
		}, "PROTOCOL"},
	}
	for _, tc := range cases {
		e.tusd.Inject(tc.fault)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.tusd.Requests())
			start := time.Now()
			o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 40), {endpoint: '/files/', chunkSize: %d,
				headers: {'X-Case': %q}, storage: false, retry: {maxRetries: %d, initialDelayMs: 50, maxDelayMs: 200}}))`, 3*chunk, chunk, tc.name, maxRetries))
			took := time.Since(start)
			n := len(e.tusd.Requests()) - before
			if o.OK || o.Name != "TusError" || o.Code != tc.code {
				t.Fatalf("got %+v, want TusError %s", o, tc.code)
			}
			// Creation, a chunk, then each retry is at most a HEAD and a PATCH.
			if limit := 2 + 2*(maxRetries+1); n > limit {
				t.Fatalf("%d requests for one upload (limit %d): retried a hopeless server", n, limit)
			}
			t.Logf("%s after %d requests, %v: %s", o.Code, n, took.Round(time.Millisecond), o.Message)
		})
	}
}
