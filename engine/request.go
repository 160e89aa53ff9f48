package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// reply is what the engine keeps of a response: the body is read only for errors.
type reply struct {
	method    string
	url       *url.URL
	status    int
	header    http.Header
	body      string
	untrusted bool // from an origin the caller did not configure
}

func (rep *reply) httpError() error {
	return &HTTPError{Method: rep.method, URL: rep.url.String(), Status: rep.status, Body: rep.body, header: rep.header, untrusted: rep.untrusted}
}

// untrusted marks a network failure of a request to an origin the caller did not
// configure: like its requests, the caller's hooks never see it (ShouldRetry).
type untrusted struct{ error }

func (u untrusted) Unwrap() error { return u.error }

// fromTrustedOrigin reports whether err did not come from a request to an origin the
// caller did not configure.
func fromTrustedOrigin(err error) bool {
	var u untrusted
	var he *HTTPError
	return !errors.As(err, &u) && !(errors.As(err, &he) && he.untrusted)
}

// maxErrorBody bounds how much of an error reply is read and kept.
const maxErrorBody = 512

// do sends one request and reads what the engine needs of the reply. set adds the
// protocol's headers, which override custom ones. Custom headers (static and from
// HeadersFunc) and the request hooks apply only to trusted origins. body, when not
// nil, is n bytes and is always closed. Nothing is sent once ctx has ended (an abort
// in the same tick as the call sends no request).
func (cl *call) do(ctx context.Context, method string, u *url.URL, body io.ReadCloser, n int64, set func(http.Header)) (*reply, error) {
	return cl.doWithin(ctx, cl.deadline(n), method, u, body, n, set)
}

// doWithin is do with the request's deadline d (0: none). The hooks run before the
// deadline starts, each under its own bound (see hook), so a slow hook is a hook's
// failure, never a timed-out request.
func (cl *call) doWithin(ctx context.Context, d time.Duration, method string, u *url.URL, body io.ReadCloser, n int64, set func(http.Header)) (*reply, error) {
	trusted := cl.trusts(u)
	ctx = context.WithValue(ctx, credentialsKey{}, cl.credentialsFor(trusted))
	req, err := newRequest(ctx, method, u, body, n)
	if err != nil {
		return nil, err
	}
	if err := cl.prepare(ctx, req, trusted, set); err != nil {
		closeBody(req.Body)
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		closeBody(req.Body)
		return nil, err
	}
	sent := req
	if d > 0 {
		dctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		sent = req.WithContext(dctx)
	}
	resp, err := cl.rt.RoundTrip(sent)
	if err != nil {
		// A request that fails with a body may have failed for the file: one that can no
		// longer be read is no network error, and retrying it would not help.
		if r, ok := body.(readable); ok {
			if rerr := r.Readable(ctx); errors.Is(rerr, ErrFileChanged) {
				return nil, fmt.Errorf("tus: %s %s: %w", method, u, rerr)
			}
		}
		err = fmt.Errorf("%w: %s %s: %w", ErrNetwork, method, u, err)
		if !trusted {
			err = untrusted{err}
		}
		return nil, err
	}
	// Success bodies are not read at all: tus replies carry their meaning in headers,
	// and a server dripping a body must not hold the upload.
	defer resp.Body.Close()
	rep := &reply{method: method, url: u, status: resp.StatusCode, header: resp.Header, untrusted: !trusted}
	if resp.StatusCode >= 400 {
		rep.body = readSnippet(resp.Body)
	}
	if trusted && cl.c.AfterResponse != nil {
		if err := cl.afterResponse(ctx, req, resp.Status, rep); err != nil {
			return nil, err
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, redirected(method, u, resp)
	}
	return rep, nil
}

// newRequest is a request with body (n bytes; nil or empty: none), which it closes on
// failure.
func newRequest(ctx context.Context, method string, u *url.URL, body io.ReadCloser, n int64) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		closeBody(body)
		return nil, fmt.Errorf("%w: %v", ErrInvalidOption, err)
	}
	if body != nil {
		req.Body, req.ContentLength = body, n
		if n == 0 {
			body.Close()
			req.Body = http.NoBody
		}
	}
	return req, nil
}

// afterResponse shows the caller's AfterResponse hook a reply: status, headers and an
// error body's start.
func (cl *call) afterResponse(ctx context.Context, req *http.Request, status string, rep *reply) error {
	seen := &http.Response{Status: status, StatusCode: rep.status, Header: rep.header.Clone(),
		Body: io.NopCloser(strings.NewReader(rep.body)), Request: req}
	return cl.hook(ctx, "AfterResponse", func(hctx context.Context) error {
		return cl.c.AfterResponse(req.WithContext(hctx), seen)
	})
}

// prepare sets req's headers: custom ones and the hooks' for a trusted origin, then
// the protocol's.
func (cl *call) prepare(ctx context.Context, req *http.Request, trusted bool, set func(http.Header)) error {
	if trusted {
		if err := cl.customHeaders(ctx, req.Header); err != nil {
			return err
		}
	}
	if set != nil {
		set(req.Header)
	}
	cl.d.common(req.Header)
	if !trusted || cl.c.BeforeRequest == nil {
		return nil
	}
	err := cl.hook(ctx, "BeforeRequest", func(hctx context.Context) error {
		r := req.WithContext(hctx) // a shallow copy: the hook may replace its Header
		err := cl.c.BeforeRequest(r)
		req.Header = r.Header
		return err
	})
	if err == nil {
		// What the hook left must not split the request either (nor make every attempt
		// fail as a network error).
		if herr := checkHeaders(req.Header); herr != nil {
			err = fmt.Errorf("%w: BeforeRequest left %w", ErrHook, herr)
		}
	}
	return err
}

// Slack for the derived deadline: the measured throughput may drop this much before a
// request counts as stalled; assumedRate is the throughput assumed before any
// measurement (a slow mobile link).
const (
	deadlineSlack = 8
	assumedRate   = 64 << 10 // bytes per second
)

// deadline is how long a request with a body of n bytes may take: RequestTimeout when
// set, otherwise derived from StallTimeout and the chunker's measured throughput.
func (cl *call) deadline(n int64) time.Duration {
	switch {
	case cl.c.RequestTimeout > 0:
		return cl.c.RequestTimeout
	case cl.c.StallTimeout < 0:
		return 0
	}
	floor := cl.c.StallTimeout
	if floor == 0 {
		floor = DefaultStallTimeout
	}
	rate, slack := cl.chunk.rate, float64(deadlineSlack)
	if rate <= 0 {
		rate, slack = assumedRate, 1
	}
	need := time.Duration(float64(n) / rate * slack * float64(time.Second))
	return max(floor, need)
}

// customHeaders adds Headers and then what HeadersFunc returns, each value checked.
func (cl *call) customHeaders(ctx context.Context, h http.Header) error {
	for k, vs := range cl.c.Headers {
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if cl.c.HeadersFunc == nil {
		return nil
	}
	var more http.Header
	err := cl.hook(ctx, "HeadersFunc", func(hctx context.Context) (err error) {
		more, err = cl.c.HeadersFunc(hctx)
		return err
	})
	if err != nil {
		return err
	}
	if err := checkHeaders(more); err != nil {
		return err
	}
	for k, vs := range more {
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	return nil
}

func closeBody(b io.ReadCloser) {
	if b != nil {
		b.Close()
	}
}

// maxErrorBodyWait bounds how long an error body may take to arrive.
const maxErrorBodyWait = 2 * time.Second

// readSnippet reads the start of an error body, giving up (and keeping what came)
// after maxErrorBodyWait; closing the body unblocks the read.
func readSnippet(body io.ReadCloser) string {
	b := make([]byte, maxErrorBody)
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n < len(b) {
			m, err := body.Read(b[n:])
			n += m
			if err != nil {
				return
			}
		}
	}()
	t := time.NewTimer(maxErrorBodyWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		body.Close()
		<-done
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(b[:n]), "?"))
}

type credentialsKey struct{}

// Credentials modes for Client.Credentials and RequestCredentials (fetch's names).
const (
	CredentialsOmit       = "omit"
	CredentialsSameOrigin = "same-origin"
	CredentialsInclude    = "include"
)

// RequestCredentials is the credentials mode the engine decided for req, which a
// transport applies (the fetch transport passes it to fetch): Client.Credentials
// (CredentialsSameOrigin when empty) for an origin the caller configured (the
// endpoint's, that of an upload URL the caller passed, AllowedOrigins),
// CredentialsOmit for every other, and for a request the engine did not make.
func RequestCredentials(req *http.Request) string {
	if v, ok := req.Context().Value(credentialsKey{}).(string); ok {
		return v
	}
	return CredentialsOmit
}

func (cl *call) credentialsFor(trusted bool) string {
	switch {
	case !trusted:
		return CredentialsOmit
	case cl.c.Credentials == "":
		return CredentialsSameOrigin
	}
	return cl.c.Credentials
}

// readable is a request body that can tell whether its source can still be read
// (the browser's Blob slices: a file changed on disk is no longer).
type readable interface {
	Readable(ctx context.Context) error
}

// redirected is the error for a 3xx: the engine never follows one (it would carry
// the caller's headers somewhere nobody configured). A transport that cannot see
// where (fetch's opaque redirects) reports a 302 without Location.
func redirected(method string, u *url.URL, resp *http.Response) error {
	to := "an address the transport does not show"
	if loc := resp.Header.Get("Location"); loc != "" {
		to = fmt.Sprintf("%.128q", loc)
	}
	return fmt.Errorf("%w: %s %s answered %d toward %s; configure the final URL", ErrRedirect, method, u, resp.StatusCode, to)
}

// trusts reports whether u is on an origin this call's caller configured. An upload
// URL a server gave never adds its own origin: trust is decided once, when the call
// is set up, from what the caller wrote.
func (cl *call) trusts(u *url.URL) bool {
	for _, o := range cl.origins {
		if sameOrigin(o, u) {
			return true
		}
	}
	return false
}
