package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

// Every error maps to one stable code, and every code Code returns for a failure is in
// the table the JS API and README are checked against.
func TestCodes(t *testing.T) {
	httpErr := func(method string, status int) error {
		return fmt.Errorf("tus: upload stopped: %w", &HTTPError{Method: method, URL: "http://x/files/1", Status: status})
	}
	cases := map[string]error{
		"NETWORK":         fmt.Errorf("%w: reset", ErrNetwork),
		"EXPIRED":         httpErr(http.MethodHead, 404),
		"OFFSET_MISMATCH": httpErr(http.MethodPatch, 409),
		"TOO_LARGE":       httpErr(http.MethodPost, 413),
		"PROTOCOL":        protocolErr("bad %s", "offset"),
		"REDIRECT":        fmt.Errorf("%w: 307", ErrRedirect),
		"FILE_CHANGED":    fmt.Errorf("%w: 1 of 2", errLengthMismatch),
		"LOCKED":          fmt.Errorf("%w (Web Lock)", ErrLocked),
		"CAPABILITY":      fmt.Errorf("%w: no creation", ErrUnsupportedServer),
		"INVALID_OPTION":  fmt.Errorf("%w: chunkSize", ErrInvalidOption),
		"HOOK":            fmt.Errorf("%w: BeforeRequest: %w", ErrHook, errors.New("no token")),
		"HTTP":            httpErr(http.MethodPatch, 423),
		"INTERNAL":        errors.New("nil pointer"),
		"ABORTED":         fmt.Errorf("tus: upload stopped at 5 of 10 bytes: %w", context.Canceled),
		"":                nil,
	}
	for want, err := range cases {
		if got := Code(err); got != want {
			t.Errorf("Code(%v) = %q, want %q", err, got, want)
		}
	}
	// Statuses mean what they mean only where the protocol gives them that meaning.
	for _, err := range []error{httpErr(http.MethodPost, 404), httpErr(http.MethodPatch, 413), httpErr(http.MethodPatch, 423), httpErr(http.MethodPost, 409)} {
		if got := Code(err); got != "HTTP" {
			t.Errorf("Code(%v) = %q, want HTTP", err, got)
		}
	}
	seen := map[string]bool{}
	for _, c := range Codes() {
		if c.Code == "" || c.Meaning == "" || seen[c.Code] {
			t.Errorf("table row %+v empty or repeated", c)
		}
		seen[c.Code] = true
	}
	for want := range cases {
		if want != "" && want != CodeAborted && !seen[want] {
			t.Errorf("Code returns %q, which the table lacks", want)
		}
	}
}
