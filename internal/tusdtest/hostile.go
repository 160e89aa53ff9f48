package tusdtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Side says which suite runs a HostileCase.
type Side int

const (
	Both        Side = iota
	EngineOnly       // engine/badserver_test.go, natively
	BrowserOnly      // e2e/hostile_test.go, in Chromium
)

// HostileCase is a broken or hostile server and the code (an engine.Code value) the
// upload must end with.
type HostileCase struct {
	Name  string
	Fault Fault
	Code  string
	Side  Side
	// Resume: the fault hits HEAD, which only a resume sends, so the suite resumes the
	// finished upload to reach it.
	Resume bool
}

// HostileCases is the table of broken and hostile servers the engine and e2e suites
// share. match(name, method) scopes a case's fault to that case's requests of method
// ("" for any): the e2e suite runs every case against one server and tells them apart
// by a request header; the engine suite gives each case a fresh server and matches
// the method alone.
func HostileCases(match func(name, method string) func(*http.Request) bool) []HostileCase {
	// Each maker builds a case's fault from its name, so a case cannot match another's.
	header := func(method, key, value string) func(string) Fault {
		return func(name string) Fault {
			return Rewrite(match(name, method), func(_ *int, h http.Header) {
				if value == "" {
					h.Del(key)
				} else {
					h.Set(key, value)
				}
			})
		}
	}
	redirect := func(method string, code int, location string) func(string) Fault {
		return func(name string) Fault {
			return Respond(match(name, method), code, http.Header{"Location": {location}}, "")
		}
	}
	backwards := func(name string) Fault {
		// The case's first PATCH past byte 0 (after the creation's data, or a first
		// PATCH) answers an offset one below where it started.
		m := match(name, http.MethodPatch)
		var fired atomic.Bool
		return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			at, _ := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
			if !m(r) || at == 0 || fired.Swap(true) {
				return false
			}
			return Rewrite(func(*http.Request) bool { return true }, func(_ *int, h http.Header) {
				h.Set("Upload-Offset", strconv.FormatInt(at-1, 10))
			})(w, r, next)
		}
	}
	drip := func(name string) Fault {
		return Drip(match(name, http.MethodPatch), http.StatusInternalServerError, http.Header{"Location": {"/files/dripping"}}, 100*time.Millisecond)
	}
	htmlPage := func(name string) Fault {
		m := match(name, "")
		return func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if !m(r) {
				return false
			}
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<!doctype html><title>Welcome</title><p>Not tus.")
			return true
		}
	}
	table := []struct {
		name  string
		fault func(name string) Fault
		code  string
		side  Side
	}{
		{"no Location", header("POST", "Location", ""), "PROTOCOL", Both},
		{"javascript Location", header("POST", "Location", "javascript:alert(1)"), "PROTOCOL", Both},
		{"data Location", header("POST", "Location", "data:text/html,<b>hi</b>"), "PROTOCOL", Both},
		{"huge Location", header("POST", "Location", "/files/"+strings.Repeat("a", 100<<10)), "PROTOCOL", Both},
		{"offset backwards", backwards, "PROTOCOL", Both},
		{"offset past length", header("PATCH", "Upload-Offset", "999999999"), "PROTOCOL", Both},
		{"offset negative", header("PATCH", "Upload-Offset", "-5"), "PROTOCOL", Both},
		{"offset not a number", header("PATCH", "Upload-Offset", "12abc"), "PROTOCOL", Both},
		{"offset huge", header("PATCH", "Upload-Offset", "99999999999999999999999999"), "PROTOCOL", Both},
		{"offset missing", header("PATCH", "Upload-Offset", ""), "PROTOCOL", Both},
		{"no Tus-Resumable", header("PATCH", "Tus-Resumable", ""), "PROTOCOL", Both},
		{"Tus-Resumable 0.2.2", header("POST", "Tus-Resumable", "0.2.2"), "PROTOCOL", Both},
		{"HTML page", htmlPage, "PROTOCOL", Both},
		{"redirect loop", redirect("POST", http.StatusTemporaryRedirect, "/files/"), "REDIRECT", Both},
		{"redirect on PATCH", redirect("PATCH", http.StatusPermanentRedirect, "/files/x"), "REDIRECT", Both},
		// Every retry waits up to the engine's 2 s for the error body: at the engine
		// suite's 4 retries that outlasts its 10 s deadline, so the engine covers
		// dripping bodies without retries (TestSlowDripBodies).
		{"dripping error body", drip, "HTTP", BrowserOnly},
		// About Chromium, which refuses a response with headers this big; Go's client
		// takes up to 10 MiB, so natively the upload succeeds.
		{"enormous header", header("POST", "X-Padding", strings.Repeat("a", 512<<10)), "NETWORK", BrowserOnly},
	}
	cases := make([]HostileCase, len(table))
	for i, c := range table {
		cases[i] = HostileCase{Name: c.name, Fault: c.fault(c.name), Code: c.code, Side: c.side}
	}
	// Engine only: the e2e run uploads once with storage off, so it never sends HEAD.
	const head = "HEAD offset past length"
	return append(cases, HostileCase{Name: head, Fault: header("HEAD", "Upload-Offset", "999999999")(head), Code: "PROTOCOL", Side: EngineOnly, Resume: true})
}

// ToleratedCase is a server deviating from the protocol where no byte is at stake: the
// upload must end byte-exact all the same. Options are the JS options the browser suite
// adds (the engine suite sets the same through its Client).
type ToleratedCase struct {
	Name    string
	Fault   Fault
	Options string
	// Capabilities: the case is about OPTIONS, which only checkServerCapabilities sends.
	Capabilities bool
}

// ToleratedCases are the deviations of servers users run (each seen from @uploadx/core
// 7.0.3), matched per case as HostileCases are.
func ToleratedCases(match func(name, method string) func(*http.Request) bool) []ToleratedCase {
	rewrite := func(name, method string, edit func(*int, http.Header)) Fault {
		return Rewrite(match(name, method), edit)
	}
	return []ToleratedCase{
		{Name: "200 for 201", Fault: rewrite("200 for 201", "POST", func(s *int, _ http.Header) { *s = http.StatusOK })},
		{Name: "200 with a body for 204", Fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !match("200 with a body for 204", "PATCH")(r) {
				return false
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"status":"completed","bytesWritten":1}`)
			return true
		}},
		{Name: "scheme-relative Location", Fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !match("scheme-relative Location", "POST")(r) {
				return false
			}
			return Rewrite(func(*http.Request) bool { return true }, func(_ *int, h http.Header) {
				if loc := h.Get("Location"); strings.HasPrefix(loc, "http:") {
					h.Set("Location", strings.TrimPrefix(loc, "http:"))
				}
			})(w, r, next)
		}},
		{Name: "OPTIONS without Tus-Version", Capabilities: true, Fault: rewrite("OPTIONS without Tus-Version", "OPTIONS", func(_ *int, h http.Header) {
			h.Del("Tus-Version")
		})},
	}
}
