package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tuswasm/tuswasm/internal/headless"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
	"github.com/tuswasm/tuswasm/internal/webdriver"
)

// smoke is one cross-browser scenario's world: a fresh tusd behind the fault proxy on
// a new loopback origin (so the page's storage starts empty) and the engine's one tab
// on /smoke.html there.
type smoke struct {
	t      *testing.T
	engine string
	page   webdriver.Page
	tusd   *tusdtest.Server
	origin string
}

func newSmoke(t *testing.T, engine string, page webdriver.Page) *smoke {
	t.Helper()
	s := &smoke{t: t, engine: engine, page: page}
	_, s.tusd, s.origin = serveTusd(t, staticHandler())
	s.open("/smoke.html")
	t.Cleanup(s.checkProblems)
	return s
}

// open loads path on the scenario's origin and waits for tuswasm.
func (s *smoke) open(path string) {
	s.t.Helper()
	s.markOld()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.page.Navigate(ctx, s.origin+path); err != nil {
		s.t.Fatalf("navigate: %v", err)
	}
	s.settle()
}

// reload reloads the page, after checking what the old page recorded.
func (s *smoke) reload() {
	s.t.Helper()
	s.checkProblems()
	s.markOld()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.page.Reload(ctx); err != nil {
		s.t.Fatalf("reload: %v", err)
	}
	s.settle()
}

// markOld marks the current document, so that settle can tell the next one from it.
func (s *smoke) markOld() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = s.page.Eval(ctx, `window.smokeOld = true`) // nothing to mark on the first load
}

// settle waits for the new document to be loaded and its tuswasm ready. WebKitGTK's
// driver can answer a navigation or a reload before the new document has run its
// scripts, so the load is a condition to wait for, not a given.
func (s *smoke) settle() {
	s.t.Helper()
	waitFor(s.t, "the new page", 30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v, err := s.page.Eval(ctx, `!window.smokeOld && document.readyState === 'complete' && window.tusReady !== undefined`)
		return err == nil && string(v) == "true"
	})
	if !smokeEval[bool](s, `window.tusReady`) {
		s.t.Fatal("tuswasm did not initialise")
	}
}

// checkProblems fails the scenario for what problems.js recorded in the page.
func (s *smoke) checkProblems() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := s.page.Eval(ctx, `window.problems.splice(0)`)
	if err != nil {
		s.t.Errorf("reading the page's problems: %v", err)
		return
	}
	var problems []string
	_ = json.Unmarshal(raw, &problems)
	for _, p := range problems {
		s.t.Errorf("%s: %s", s.engine, p)
	}
}

// smokeEval runs js in the page (awaiting a promise) and decodes its value.
func smokeEval[T any](s *smoke, js string) T {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	raw, err := s.page.Eval(ctx, js)
	if err != nil {
		s.t.Fatalf("evaluating %.200s: %v", js, err)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		s.t.Fatalf("decoding %.200s: %v", raw, err)
	}
	return v
}

// start runs js without waiting for what it starts.
func (s *smoke) start(js string) { smokeEval[any](s, `void (`+js+`)`) }

// upload runs js (a promise of an upload result) through the page's run() helper.
func (s *smoke) upload(js string) (outcome, result) {
	s.t.Helper()
	o := smokeEval[outcome](s, `run(() => `+js+`)`)
	return o, o.result(s.t)
}

// waitDone waits for the background job key (test.js's bg) to settle.
func (s *smoke) waitDone(key string) outcome {
	s.t.Helper()
	return smokeEval[outcome](s, bgDoneJS(key))
}

func (s *smoke) storedEntries(prefix string) int {
	return smokeEval[int](s, fmt.Sprintf(`Object.keys(localStorage).filter(k => k.startsWith(%q)).length`, prefix))
}

// chromiumPage is a tab of the suite's Chromium (chromedp) as a webdriver.Page.
type chromiumPage struct {
	tab    context.Context
	cancel context.CancelFunc
}

// newChromiumPage opens a tab. The first Run on a chromedp context ties the tab's life
// to the context it is given, so it gets the tab's own, not a call's shorter one.
func newChromiumPage() (*chromiumPage, error) {
	tab, cancel := chromedp.NewContext(browserCtx)
	if err := chromedp.Do(tab); err != nil {
		cancel()
		return nil, err
	}
	return &chromiumPage{tab: tab, cancel: cancel}, nil
}

// in derives a context of the tab that ends with ctx too: chromedp takes its target
// from the context, the caller its deadline.
func (p *chromiumPage) in(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(p.tab)
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

func (p *chromiumPage) SetFiles(ctx context.Context, selector string, paths []string) error {
	c, cancel := p.in(ctx)
	defer cancel()
	return chromedp.Do(c, chromedp.SetUploadFiles(chromedp.CSS(selector), paths))
}

func (p *chromiumPage) Navigate(ctx context.Context, url string) error {
	c, cancel := p.in(ctx)
	defer cancel()
	if err := headless.Navigate(c, url); err != nil {
		return err
	}
	return headless.Settle(c, "true") // turns off CDP's Network domain, which slows uploads
}

func (p *chromiumPage) Reload(ctx context.Context) error {
	c, cancel := p.in(ctx)
	defer cancel()
	if err := headless.Reload(c); err != nil {
		return err
	}
	return headless.Settle(c, "true")
}

func (p *chromiumPage) Eval(ctx context.Context, js string) (json.RawMessage, error) {
	c, cancel := p.in(ctx)
	defer cancel()
	s, err := headless.Eval[string](c, webdriver.AsJSON(js))
	return json.RawMessage(s), err
}

func (p *chromiumPage) Close() error { p.cancel(); return nil }
