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
	method string
	url    *url.URL
	status int
	header http.Header
	body   string
}

func (rep *reply) httpError() error {
	return &HTTPError{Method: rep.method, URL: rep.url.String(), Status: rep.status, Body: rep.body, header: rep.header}
}

// maxErrorBody bounds how much of an error reply is read and kept.
const maxErrorBody = 512

// do sends one request and reads what the engine needs of the reply. set adds the
// protocol's headers, which override custom ones. Custom headers (static and from
// HeadersFunc) and the request hooks apply only to trusted origins. body, when not
// nil, is n bytes and is always closed.
func (cl *call) do(ctx context.Context, method string, u *url.URL, body io.ReadCloser, n int64, set func(http.Header)) (*reply, error) {
	if d := cl.deadline(n); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
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
	if trusted {
		if err := cl.customHeaders(ctx, req.Header); err != nil {
			closeBody(req.Body)
			return nil, err
		}
	}
	if set != nil {
		set(req.Header)
	}
	cl.d.common(req.Header)
	if trusted && cl.c.BeforeRequest != nil {
		if err := cl.c.BeforeRequest(req); err != nil {
			closeBody(req.Body)
			return nil, fmt.Errorf("%w: BeforeRequest: %w", ErrHook, err)
		}
	}
	resp, err := cl.rt.RoundTrip(req)
	if err != nil {
		if errors.Is(err, ErrFileChanged) || errors.Is(err, ErrRedirect) {
			return nil, fmt.Errorf("tus: %s %s: %w", method, u, err)
		}
		return nil, fmt.Errorf("%w: %s %s: %w", ErrNetwork, method, u, err)
	}
	// Success bodies are not read at all: tus replies carry their meaning in headers,
	// and a server dripping a body must not hold the upload.
	defer resp.Body.Close()
	rep := &reply{method: method, url: u, status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode >= 400 {
		rep.body = readSnippet(resp.Body)
	}
	if trusted && cl.c.AfterResponse != nil {
		seen := &http.Response{Status: resp.Status, StatusCode: rep.status, Header: rep.header.Clone(),
			Body: io.NopCloser(strings.NewReader(rep.body)), Request: req}
		if err := cl.c.AfterResponse(req, seen); err != nil {
			return nil, fmt.Errorf("%w: AfterResponse: %w", ErrHook, err)
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, fmt.Errorf("%w: %s %s answered %d toward %.128q; configure the final URL", ErrRedirect, method, u, resp.StatusCode, resp.Header.Get("Location"))
	}
	return rep, nil
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
	more, err := cl.c.HeadersFunc(ctx)
	if err != nil {
		return fmt.Errorf("%w: HeadersFunc: %w", ErrHook, err)
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
