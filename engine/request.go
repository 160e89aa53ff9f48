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
	if trusted {
		ctx = context.WithValue(ctx, trustedKey{}, true)
	}
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
		if errors.Is(err, ErrFileChanged) || errors.Is(err, ErrRedirect) {
			return nil, fmt.Errorf("tus: %s %s: %w", method, u, err)
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
		seen := &http.Response{Status: resp.Status, StatusCode: rep.status, Header: rep.header.Clone(),
			Body: io.NopCloser(strings.NewReader(rep.body)), Request: req}
		err := cl.hook(ctx, "AfterResponse", func(hctx context.Context) error {
			return cl.c.AfterResponse(req.WithContext(hctx), seen)
		})
		if err != nil {
			return nil, err
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, fmt.Errorf("%w: %s %s answered %d toward %.128q; configure the final URL", ErrRedirect, method, u, resp.StatusCode, resp.Header.Get("Location"))
	}
	return rep, nil
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
	return cl.hook(ctx, "BeforeRequest", func(hctx context.Context) error {
		r := req.WithContext(hctx) // a shallow copy: the hook may replace its Header
		err := cl.c.BeforeRequest(r)
		req.Header = r.Header
		return err
	})
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

type trustedKey struct{}

// Trusted reports whether the engine sent req to an origin the caller configured (the
// endpoint's, that of an upload URL the caller passed, or AllowedOrigins): only such
// requests carry Headers and see the request hooks, and a transport should attach
// credentials (cookies) only to them.
func Trusted(req *http.Request) bool {
	v, _ := req.Context().Value(trustedKey{}).(bool)
	return v
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
