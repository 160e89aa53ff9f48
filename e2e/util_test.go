package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

func mustJSON(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
}

func headReq(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodHead, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	return req
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }

func setFiles(t *testing.T, tab context.Context, sel string, paths ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS(sel), paths)); err != nil {
		t.Fatal(err)
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// modeEnv is a new env in main-thread ("page") or worker mode.
func modeEnv(t *testing.T, mode string) *env {
	if mode == "worker" {
		return newWorkerEnv(t)
	}
	return newEnv(t)
}

// inBothModes runs probe as a subtest in main-thread ("page") and worker mode, each in a
// fresh env.
func inBothModes(t *testing.T, probe func(t *testing.T, e *env, mode string)) {
	for _, mode := range []string{"page", "worker"} {
		t.Run(mode, func(t *testing.T) {
			e := modeEnv(t, mode)
			probe(t, e, mode)
		})
	}
}

func within(e *env, js string, ms int) settled {
	e.t.Helper()
	return eval[settled](e, fmt.Sprintf(`within((async () => %s)(), %d)`, js, ms))
}

// settled is what the page's within() gives: run()'s outcome, or hang when the
// Promise had not settled in time.
type settled struct {
	outcome
	Hang bool `json:"hang"`
}

// uploadsElsewhere makes e's endpoint create its uploads on a second tusd of an origin
// of its own (an API in front of upload storage), and returns that one and its origin.
func uploadsElsewhere(t *testing.T, e *env) (*tusdtest.Server, string) {
	t.Helper()
	_, storage, origin := serveTusd(t, nil)
	e.tusd.Inject(tusdtest.CreateOn(origin + "/files/"))
	return storage, origin
}
