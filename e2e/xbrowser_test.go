package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/internal/webdriver"
)

// The cross-browser smoke: the scenarios in xbrowser_scenarios_test.go, in Chromium
// (through chromedp, as the rest of the suite), Firefox ESR (WebDriver BiDi) and
// WebKitGTK (classic WebDriver).
var (
	browsersFlag = flag.String("browsers", "chromium,firefox,webkit", "engines the cross-browser smoke runs in")
	firefoxPath  = flag.String("firefox", "/usr/bin/firefox-esr", "Firefox binary")
	webkitDriver = flag.String("webkitdriver", "/usr/bin/WebKitWebDriver", "WebKitGTK's WebDriver")
	xvfbPath     = flag.String("xvfb", "/usr/bin/Xvfb", "Xvfb, the X display WebKitGTK runs on")
)

// engines is every engine the smoke knows, in the order the summary lists them.
var engines = []string{"chromium", "firefox", "webkit"}

func TestBrowsers(t *testing.T) {
	for _, engine := range engines {
		if !slices.Contains(strings.Split(*browsersFlag, ","), engine) {
			continue
		}
		t.Run(engine, func(t *testing.T) {
			tally := tallyFor(engine)
			page, err := startEngine(t, engine)
			if err != nil {
				tally.add(len(smokeScenarios), 0)
				t.Fatalf("starting %s: %v", engine, err)
			}
			t.Cleanup(func() { page.Close() })
			for _, sc := range smokeScenarios {
				t.Run(sc.name, func(t *testing.T) {
					if why, ok := sc.skip[engine]; ok {
						tally.skip(sc.name, why)
						t.Skip(why)
					}
					t.Cleanup(func() {
						if t.Failed() {
							tally.add(1, 0)
						} else {
							tally.add(1, 1)
						}
					})
					sc.run(newSmoke(t, engine, page))
				})
			}
		})
	}
}

func startEngine(t *testing.T, engine string) (webdriver.Page, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	switch engine {
	case "chromium":
		return newChromiumPage()
	case "firefox":
		if _, err := os.Stat(*firefoxPath); err != nil {
			return nil, fmt.Errorf("no Firefox (make test installs firefox-esr): %w", err)
		}
		return webdriver.StartFirefox(ctx, *firefoxPath, filepath.Join(t.TempDir(), "profile"))
	case "webkit":
		for _, p := range []string{*webkitDriver, *xvfbPath} {
			if _, err := os.Stat(p); err != nil {
				return nil, fmt.Errorf("make test installs webkit2gtk-driver and xvfb: %w", err)
			}
		}
		return webdriver.StartWebKit(ctx, *webkitDriver, *xvfbPath)
	}
	return nil, fmt.Errorf("unknown engine %q", engine)
}

// tally counts one engine's smoke scenarios: those that ran, those that passed, and
// those skipped with the reason.
type tally struct {
	mu          sync.Mutex
	ran, passed int
	skipped     []string
}

var (
	talliesMu sync.Mutex
	tallies   = map[string]*tally{}
)

func tallyFor(engine string) *tally {
	talliesMu.Lock()
	defer talliesMu.Unlock()
	if tallies[engine] == nil {
		tallies[engine] = &tally{}
	}
	return tallies[engine]
}

func (t *tally) add(ran, passed int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ran += ran
	t.passed += passed
}

func (t *tally) skip(name, why string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.skipped = append(t.skipped, name+": "+why)
}

// printBrowsersSummary prints "browsers: chromium P/N, …" (passed of those that ran)
// and one line per skipped scenario, when the smoke ran.
func printBrowsersSummary() {
	talliesMu.Lock()
	defer talliesMu.Unlock()
	var parts, skips []string
	for _, engine := range engines {
		t := tallies[engine]
		if t == nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d/%d", engine, t.passed, t.ran))
		for _, s := range t.skipped {
			skips = append(skips, fmt.Sprintf("browsers: %s skipped %s", engine, s))
		}
	}
	if len(parts) == 0 {
		return
	}
	fmt.Println("browsers: " + strings.Join(parts, ", "))
	for _, s := range skips {
		fmt.Println(s)
	}
}
