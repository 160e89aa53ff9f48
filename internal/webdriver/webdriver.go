// Package webdriver drives Firefox and WebKitGTK for the cross-browser e2e smoke: a
// small client of the two W3C protocols those browsers speak here. Firefox ESR is
// reached through its built-in Remote Agent (WebDriver BiDi over a WebSocket), since
// Debian ships no geckodriver; WebKitGTK through WebKitWebDriver (classic WebDriver,
// JSON over HTTP). Only what the smoke needs is here: navigate, reload, evaluate.
package webdriver

import (
	"context"
	"encoding/json"
)

// Page is one browser tab.
type Page interface {
	// Navigate loads url and returns after its load event.
	Navigate(ctx context.Context, url string) error
	// Reload reloads the page and returns after its load event.
	Reload(ctx context.Context) error
	// Eval runs the JavaScript expression js, awaits it when it is a promise, and
	// returns its value as JSON (null for undefined). A thrown error is an error.
	Eval(ctx context.Context, js string) (json.RawMessage, error)
	// SetFiles gives the file input at the CSS selector the paths, as a user picking
	// them would.
	SetFiles(ctx context.Context, selector string, paths []string) error
	// Close ends the session and the browser.
	Close() error
}

// AsJSON wraps the expression js so that it evaluates to a promise of its awaited
// value as JSON text: every protocol then carries one plain string back, instead of
// each protocol's own encoding of JavaScript values.
func AsJSON(js string) string {
	return "(async () => JSON.stringify((await (" + js + "\n)) ?? null))()"
}
