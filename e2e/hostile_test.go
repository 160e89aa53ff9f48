package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// Hostile and broken servers: each ends the upload with a TusError carrying a precise
// code, promptly and within the retry budget — never a hang, crash or endless retry.
func TestHostileServers(t *testing.T) {
	e := newEnv(t)
	const maxRetries = 2
	var cases []tusdtest.HostileCase
	for _, tc := range tusdtest.HostileCases(byCase) {
		if tc.Side != tusdtest.EngineOnly {
			cases = append(cases, tc)
			e.tusd.Inject(tc.Fault)
		}
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			before := len(e.tusd.Requests())
			start := time.Now()
			o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, 40), {endpoint: '/files/', chunkSize: %d,
				headers: {'X-Case': %q}, storage: false, retry: {maxRetries: %d, initialDelayMs: 50, maxDelayMs: 200}}))`, 3*chunk, chunk, tc.Name, maxRetries))
			took := time.Since(start)
			n := len(e.tusd.Requests()) - before
			if o.OK || o.Name != "TusError" || o.Code != tc.Code {
				t.Fatalf("got %+v, want TusError %s", o, tc.Code)
			}
			// Creation, a chunk, then each retry is at most a HEAD and a PATCH.
			if limit := 2 + 2*(maxRetries+1); n > limit {
				t.Fatalf("%d requests for one upload (limit %d): retried a hopeless server", n, limit)
			}
			t.Logf("%s after %d requests, %v: %s", o.Code, n, took.Round(time.Millisecond), o.Message)
		})
	}
}

// Servers that deviate where no byte is at stake (@uploadx/core's 200s, its
// scheme-relative Location, its OPTIONS without Tus-Version): byte-exact all the same.
func TestToleratedServers(t *testing.T) {
	e := newEnv(t)
	cases := tusdtest.ToleratedCases(byCase)
	for _, tc := range cases {
		e.tusd.Inject(tc.Fault)
	}
	for i, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			const size = 3 * chunk
			o := eval[outcome](e, fmt.Sprintf(`run(() => tus.createAndUpload(makeFile(%d, %d), {endpoint: '/files/', chunkSize: %d,
				adaptiveChunkSize: false, headers: {'X-Case': %q}, storage: false, checkServerCapabilities: %v}))`, size, 41+i, chunk, tc.Name, tc.Capabilities))
			e.tusd.AssertStored(t, o.result(t).URL, pattern(size, uint32(41+i)))
		})
	}
}

// byCase matches the requests of one hostile case (method "" for any): every case runs
// against the one server, and the page names its case in a request header so that a
// fault hits only its own requests.
func byCase(name, method string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Header.Get("X-Case") == name && (method == "" || r.Method == method)
	}
}
