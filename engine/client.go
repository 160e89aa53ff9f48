package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultChunkSize is the largest PATCH body when Client.ChunkSize is zero. fetch
// reports no progress inside a request, so a chunk is also the progress granularity;
// see chunk.go for how the size adapts below this maximum.
const DefaultChunkSize = 32 << 20

// ExpiredPolicy says what to do when an upload URL answers 404 or 410 mid-upload.
type ExpiredPolicy int

const (
	// ExpiredError fails with an error wrapping ErrUploadExpired.
	ExpiredError ExpiredPolicy = iota
	// ExpiredRecreate creates a new upload at Endpoint (once per call), reports it
	// through OnCreate and starts over from byte 0.
	ExpiredRecreate
)

// Client uploads files with the tus protocol. Its fields are the policy; the zero value
// of each is a sensible default. A Client may be reused but not mutated while in use.
type Client struct {
	// Transport sends each request; nil means http.DefaultTransport (except under
	// GOOS=js, where it must be set: see defaultTransport). The Client is the policy
	// above it, as http.Client is above a Transport: redirects are never followed (a
	// 3xx reply is an error wrapping ErrRedirect), timeouts and retries are its own.
	Transport http.RoundTripper
	// Endpoint is the creation URL (absolute http or https).
	Endpoint string
	// Headers are added to every request sent to the endpoint's origin, to the origin of
	// an upload URL passed to Upload, and to AllowedOrigins; never elsewhere.
	Headers http.Header
	// AllowedOrigins ("https://uploads.example.com") may also receive Headers.
	AllowedOrigins []string
	// BeforeRequest may inspect or change each request just before it is sent; an error
	// aborts the call.
	BeforeRequest func(*http.Request) error
	// ChunkSize is the largest PATCH body; zero means DefaultChunkSize. Below it the
	// size adapts to the measured throughput so that a request takes about
	// TargetRequestTime (zero: DefaultTargetRequestTime), starting at 512 KiB.
	ChunkSize         int64
	TargetRequestTime time.Duration
	// FixedChunkSize sends every PATCH (but the last) with exactly ChunkSize bytes.
	FixedChunkSize bool
	// RequestTimeout bounds each request (0: none). A timed-out request is retried.
	RequestTimeout time.Duration
	// WaitOnline, when set, is called after a network error before retrying. It
	// returns once the network is believed reachable again (the browser's
	// navigator.onLine), reporting whether it had to wait; time spent offline does not
	// count against Retry, so an upload outlives an outage of any length.
	WaitOnline func(ctx context.Context) (waited bool, err error)
	// Metadata is sent as Upload-Metadata on creation.
	Metadata map[string]string
	// CheckServerCapabilities sends OPTIONS first and fails early on a non-tus server
	// or a file above Tus-Max-Size.
	CheckServerCapabilities bool
	// UseFileLock locks files that implement Locker for the duration of the call.
	UseFileLock bool
	Retry       Retry
	// Store, when set, makes CreateAndUpload resume uploads it remembers.
	Store     Store
	OnExpired ExpiredPolicy
	// OnCreate receives a new upload's URL before its first byte is sent.
	OnCreate func(url string)
	// OnProgress receives the bytes the server has confirmed: monotonic, at least once
	// per chunk, ending at total.
	OnProgress func(sent, total int64)
}

// Result describes a finished upload.
type Result struct {
	URL  string
	Size int64
	// Resumed is true when an earlier upload (from the Store) was continued.
	Resumed bool
}

// Create makes a new upload for f at Endpoint and returns its URL.
func (c *Client) Create(ctx context.Context, f File) (string, error) {
	r, err := c.newRun(f, "")
	if err != nil {
		return "", err
	}
	if err := r.checkCapabilities(ctx, r.endpoint, true); err != nil {
		return "", err
	}
	u, err := r.create(ctx)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Upload sends f to the existing upload at uploadURL, starting from the offset the
// server reports. It returns at once when the upload is already complete.
func (c *Client) Upload(ctx context.Context, f File, uploadURL string) (Result, error) {
	r, release, err := c.begin(ctx, f, uploadURL)
	if err != nil {
		return Result{}, err
	}
	defer release()
	return r.finish(ctx, false)
}

// CreateAndUpload resumes f's upload from Store when one is remembered and still
// exists on the server, and otherwise creates a new one; then it sends every byte.
func (c *Client) CreateAndUpload(ctx context.Context, f File) (Result, error) {
	r, release, err := c.begin(ctx, f, "")
	if err != nil {
		return Result{}, err
	}
	defer release()
	if res, ok, err := r.resumeStored(ctx); ok || err != nil {
		return res, err
	}
	if _, err := r.create(ctx); err != nil {
		return Result{}, err
	}
	return r.finish(ctx, true)
}

// FindPreviousUploads lists what Store remembers for f at Endpoint.
func (c *Client) FindPreviousUploads(ctx context.Context, f File) ([]StoredUpload, error) {
	if c.Store == nil {
		return nil, nil
	}
	u, found, err := c.Store.Get(ctx, fileFingerprint(f, c.Endpoint))
	if err != nil || !found {
		return nil, err
	}
	return []StoredUpload{u}, nil
}

// Terminate deletes an upload on the server (termination extension).
func (c *Client) Terminate(ctx context.Context, uploadURL string) error {
	r, err := c.newRun(nil, uploadURL)
	if err != nil {
		return err
	}
	return r.retrying(ctx, func() error {
		rep, err := r.do(ctx, http.MethodDelete, r.upload, nil, 0, nil)
		if err != nil {
			return err
		}
		if rep.status != http.StatusNoContent {
			return rep.httpError()
		}
		return nil
	})
}

// run is the state of one call.
type run struct {
	c        *Client
	rt       http.RoundTripper
	f        File
	size     int64
	chunk    *chunker
	retry    Retry
	endpoint *url.URL // nil when only an upload URL was given
	upload   *url.URL // current upload URL
	origins  []*url.URL
	metadata string
	fp       string
	reported int64 // highest offset passed to OnProgress, -1 before the first
}

func (c *Client) newRun(f File, uploadURL string) (*run, error) {
	r := &run{c: c, rt: c.Transport, f: f, chunk: newChunker(c), retry: c.Retry.withDefaults(), reported: -1}
	if r.rt == nil {
		if r.rt = defaultTransport(); r.rt == nil {
			return nil, fmt.Errorf("%w: Client.Transport is required under GOOS=js (set it to http.DefaultTransport for Go's own fetch transport)", ErrInvalidOption)
		}
	}
	for name, vs := range c.Headers {
		if name == "" || strings.ContainsAny(name, " :\r\n\x00") {
			return nil, fmt.Errorf("%w: header name %q", ErrInvalidOption, name)
		}
		for _, v := range vs {
			if err := checkHeaderValue(name, v); err != nil {
				return nil, err
			}
		}
	}
	var err error
	if c.Endpoint != "" {
		if r.endpoint, err = parseEndpoint("endpoint", c.Endpoint); err != nil {
			return nil, err
		}
		r.origins = append(r.origins, r.endpoint)
	} else if uploadURL == "" {
		return nil, fmt.Errorf("%w: an endpoint is required to create an upload", ErrInvalidOption)
	}
	if uploadURL != "" {
		if r.upload, err = parseEndpoint("upload URL", uploadURL); err != nil {
			return nil, err
		}
		r.origins = append(r.origins, r.upload)
	}
	for _, o := range c.AllowedOrigins {
		u, err := parseEndpoint("allowed origin", o)
		if err != nil {
			return nil, err
		}
		r.origins = append(r.origins, u)
	}
	if r.metadata, err = encodeMetadata(c.Metadata); err != nil {
		return nil, err
	}
	if f != nil {
		if r.size = f.Size(); r.size < 0 {
			return nil, fmt.Errorf("%w: file size %d", ErrInvalidOption, r.size)
		}
		if r.endpoint != nil {
			r.fp = fileFingerprint(f, r.endpoint.String())
		}
	}
	return r, nil
}

// begin prepares an upload of f: to uploadURL, or to a new upload at Endpoint when
// uploadURL is empty. It takes the file's lock (release it when done) and, when asked
// to, checks the server's capabilities.
func (c *Client) begin(ctx context.Context, f File, uploadURL string) (*run, func(), error) {
	r, err := c.newRun(f, uploadURL)
	if err != nil {
		return nil, nil, err
	}
	release := func() {}
	if l, ok := f.(Locker); ok && c.UseFileLock {
		if release, err = l.Lock(ctx); err != nil {
			return nil, nil, err
		}
	}
	target, creating := r.upload, false
	if uploadURL == "" {
		target, creating = r.endpoint, true
	}
	if err := r.checkCapabilities(ctx, target, creating); err != nil {
		release()
		return nil, nil, err
	}
	return r, release, nil
}

// resumeStored continues the upload Store remembers for this file, if any. ok reports
// that the call is over (err says how); a stored upload the server no longer has is
// forgotten and ok is false, so the caller creates a new one.
func (r *run) resumeStored(ctx context.Context) (Result, bool, error) {
	st := r.c.Store
	if st == nil {
		return Result{}, false, nil
	}
	// Store failures must not fail the upload: without the entry we create anew.
	prev, found, err := st.Get(ctx, r.fp)
	if err != nil || !found {
		return Result{}, false, nil
	}
	// An entry is used only for the file and endpoint it was made for, and only when its
	// URL is on an origin this call trusts: storage is not trusted input.
	u, err := parseEndpoint("stored upload URL", prev.URL)
	if err != nil || prev.Size != r.size || prev.Fingerprint != r.fp || !r.allowed(u) {
		_ = st.Delete(ctx, r.fp)
		return Result{}, false, nil
	}
	r.upload = u
	res, err := r.transferOnce(ctx, false)
	if errors.Is(err, ErrUploadExpired) {
		_ = st.Delete(ctx, r.fp)
		r.upload, r.reported = nil, -1
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, true, err
	}
	_ = st.Delete(ctx, r.fp)
	res.Resumed = true
	return res, true, nil
}

// finish sends the file to r.upload and, per OnExpired, re-creates an upload that
// disappeared. fresh means the upload was just created (offset 0, no HEAD needed).
func (r *run) finish(ctx context.Context, fresh bool) (Result, error) {
	res, err := r.transferOnce(ctx, fresh)
	if errors.Is(err, ErrUploadExpired) && r.c.OnExpired == ExpiredRecreate && r.endpoint != nil {
		if r.c.Store != nil && r.fp != "" {
			_ = r.c.Store.Delete(ctx, r.fp)
		}
		r.reported = -1
		if _, err := r.create(ctx); err != nil {
			return Result{}, err
		}
		res, err = r.transferOnce(ctx, true)
	}
	if err == nil && r.c.Store != nil && r.fp != "" {
		_ = r.c.Store.Delete(ctx, r.fp)
	}
	return res, err
}

func (r *run) transferOnce(ctx context.Context, fresh bool) (Result, error) {
	if err := r.transfer(ctx, fresh); err != nil {
		return Result{}, err
	}
	return Result{URL: r.upload.String(), Size: r.size}, nil
}

// create POSTs a new upload, remembers it in Store and reports it through OnCreate.
func (r *run) create(ctx context.Context) (*url.URL, error) {
	hdr := map[string]string{"Upload-Length": strconv.FormatInt(r.size, 10)}
	if r.metadata != "" {
		hdr["Upload-Metadata"] = r.metadata
	}
	var loc *url.URL
	err := r.retrying(ctx, func() error {
		rep, err := r.do(ctx, http.MethodPost, r.endpoint, nil, 0, hdr)
		if err != nil {
			return err
		}
		if rep.status != http.StatusCreated {
			if rep.status >= 200 && rep.status < 300 {
				return protocolErr("POST %s answered %d, want 201 Created: is it a tus endpoint?", r.endpoint, rep.status)
			}
			return rep.httpError()
		}
		if err := rep.checkTusResumable(); err != nil {
			return err
		}
		loc, err = resolveLocation(r.endpoint, rep.header.Get("Location"))
		return err
	})
	if err != nil {
		return nil, err
	}
	r.upload = loc
	if r.c.Store != nil && r.fp != "" {
		_ = r.c.Store.Put(ctx, StoredUpload{Fingerprint: r.fp, URL: loc.String(), Size: r.size, CreatedAt: time.Now().UTC()})
	}
	if r.c.OnCreate != nil {
		r.c.OnCreate(loc.String())
	}
	return loc, nil
}

// transfer is the PATCH loop with the recovery rules: recoverable failures (network,
// 5xx, 423, 429, tusd's ERR_UPLOAD_INTERRUPTED, 409, a reply that confirms nothing) are
// followed by a HEAD and a retry; more than MaxRetries of them in a row without the
// server confirming new bytes ends the call with the last error.
func (r *run) transfer(ctx context.Context, fresh bool) error {
	var offset int64
	needHead := !fresh
	failures := 0
	for {
		var err error
		if needHead {
			var off int64
			if off, err = r.head(ctx); err == nil {
				if off > offset {
					failures = 0 // bytes of a failed request were kept: that is progress
				}
				offset, needHead = off, false
				r.progress(offset)
			}
		} else {
			if r.reported < 0 {
				r.progress(offset)
			}
			if offset == r.size {
				return nil
			}
			var next int64
			started := time.Now()
			next, err = r.patch(ctx, offset, min(r.chunk.size(), r.size-offset))
			if err == nil {
				r.chunk.sent(next-offset, time.Since(started))
				offset = next
				failures = 0
				r.progress(offset)
				continue
			}
			r.chunk.failed()
			needHead = true
		}
		if err == nil {
			continue
		}
		if err := r.backoff(ctx, err, &failures); err != nil {
			return err
		}
	}
}

// backoff follows a failed attempt: it returns the error that ends the call, or nil
// after waiting (Retry's delay, or until the network is back) for the next attempt.
// failures counts consecutive failed attempts without progress.
func (r *run) backoff(ctx context.Context, err error, failures *int) error {
	stopped := func(cause error) error {
		return fmt.Errorf("tus: upload stopped at %d of %d bytes: %w", max(r.reported, 0), r.size, cause)
	}
	if ctx.Err() != nil {
		return stopped(ctx.Err())
	}
	if !recoverable(err) {
		return err
	}
	if errors.Is(err, ErrNetwork) && r.c.WaitOnline != nil {
		waited, werr := r.c.WaitOnline(ctx)
		if werr != nil {
			return stopped(werr)
		}
		if waited {
			return nil // failing while offline says nothing about the server
		}
	}
	*failures++
	if *failures > r.retry.MaxRetries {
		return fmt.Errorf("tus: giving up after %d attempts without progress: %w", *failures, err)
	}
	var h http.Header
	var he *HTTPError
	if errors.As(err, &he) {
		h = he.header
	}
	wait := r.retry.delay(*failures, h)
	if errors.Is(err, ErrOffsetMismatch) && *failures == 1 {
		wait = 0 // the HEAD that follows is the fix
	}
	if err := sleep(ctx, wait); err != nil {
		return stopped(err)
	}
	return nil
}

// errNoProgress: a 204 that confirms none of the bytes sent.
var errNoProgress = errors.New("tus: server confirmed none of the bytes sent")

func recoverable(err error) bool {
	if errors.Is(err, ErrNetwork) || errors.Is(err, errNoProgress) {
		return !errors.Is(err, ErrFileChanged)
	}
	var he *HTTPError
	if !errors.As(err, &he) {
		return false
	}
	switch {
	case he.Status >= 500, he.Status == http.StatusLocked, he.Status == http.StatusConflict,
		he.Status == http.StatusTooManyRequests, he.Status == http.StatusRequestTimeout:
		return true
	case he.Status == http.StatusBadRequest:
		// tusd: a competing request (often our own timed-out PATCH) took the lock.
		return strings.HasPrefix(he.Body, "ERR_UPLOAD_INTERRUPTED")
	}
	return false
}

func (r *run) progress(offset int64) {
	if offset <= r.reported {
		return
	}
	r.reported = offset
	if r.c.OnProgress != nil {
		r.c.OnProgress(offset, r.size)
	}
}

// head asks the server for the upload's offset and checks it against the file.
func (r *run) head(ctx context.Context) (int64, error) {
	rep, err := r.do(ctx, http.MethodHead, r.upload, nil, 0, nil)
	if err != nil {
		return 0, err
	}
	if rep.status != http.StatusOK && rep.status != http.StatusNoContent {
		return 0, rep.httpError()
	}
	if err := rep.checkTusResumable(); err != nil {
		return 0, err
	}
	return headOffset(rep.header, r.size)
}

// patch sends [offset, offset+n) and returns the new offset the server confirmed.
func (r *run) patch(ctx context.Context, offset, n int64) (int64, error) {
	body, err := r.f.ReadSection(ctx, offset, n)
	if err != nil {
		return 0, fmt.Errorf("tus: reading bytes %d-%d of %s: %w", offset, offset+n, r.f.Name(), err)
	}
	rep, err := r.do(ctx, http.MethodPatch, r.upload, body, n, map[string]string{
		"Upload-Offset": strconv.FormatInt(offset, 10),
		"Content-Type":  "application/offset+octet-stream",
	})
	if err != nil {
		return 0, err
	}
	if rep.status != http.StatusNoContent {
		if rep.status >= 200 && rep.status < 300 {
			return 0, protocolErr("PATCH answered %d, want 204 No Content", rep.status)
		}
		return 0, rep.httpError()
	}
	if err := rep.checkTusResumable(); err != nil {
		return 0, err
	}
	return patchOffset(rep.header, offset, n)
}

// checkCapabilities sends OPTIONS when asked to and checks tus 1.0.0, the creation
// extension (when creating) and Tus-Max-Size.
func (r *run) checkCapabilities(ctx context.Context, u *url.URL, creating bool) error {
	if !r.c.CheckServerCapabilities {
		return nil
	}
	var rep *reply
	err := r.retrying(ctx, func() (err error) {
		rep, err = r.do(ctx, http.MethodOptions, u, nil, 0, nil)
		if err == nil && rep.status >= 500 {
			err = rep.httpError()
		}
		return err
	})
	if err != nil {
		return err
	}
	if rep.status != http.StatusOK && rep.status != http.StatusNoContent {
		return fmt.Errorf("%w: OPTIONS %s answered %d", ErrUnsupportedServer, u, rep.status)
	}
	return checkCapabilities(rep.header, r.size, creating)
}

// retrying runs op until it succeeds, fails unrecoverably or exhausts MaxRetries.
func (r *run) retrying(ctx context.Context, op func() error) error {
	failures := 0
	for {
		err := op()
		if err == nil {
			return nil
		}
		if err := r.backoff(ctx, err, &failures); err != nil {
			return err
		}
	}
}

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

func (rep *reply) checkTusResumable() error {
	switch v := rep.header.Get("Tus-Resumable"); v {
	case "1.0.0":
		return nil
	case "":
		return protocolErr("%s %s: reply has no Tus-Resumable header (not a tus server, or CORS does not expose it)", rep.method, rep.url)
	default:
		return protocolErr("%s %s: reply has Tus-Resumable %.32q, want 1.0.0", rep.method, rep.url, v)
	}
}

// maxErrorBody bounds how much of an error reply is read and kept.
const maxErrorBody = 512

// do sends one request and reads what the engine needs of the reply. Headers go only
// to allowed origins; protocol headers override custom ones.
func (r *run) do(ctx context.Context, method string, u *url.URL, body io.ReadCloser, n int64, hdr map[string]string) (*reply, error) {
	if r.c.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.c.RequestTimeout)
		defer cancel()
	}
	trusted := r.allowed(u)
	if trusted {
		ctx = context.WithValue(ctx, trustedKey{}, true)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		if body != nil {
			body.Close()
		}
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
		for k, vs := range r.c.Headers {
			req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
		}
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	if r.c.BeforeRequest != nil {
		if err := r.c.BeforeRequest(req); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, fmt.Errorf("tus: BeforeRequest: %w", err)
		}
	}
	resp, err := r.rt.RoundTrip(req)
	if err != nil {
		if errors.Is(err, ErrFileChanged) || errors.Is(err, ErrRedirect) {
			return nil, fmt.Errorf("tus: %s %s: %w", method, u, err)
		}
		return nil, fmt.Errorf("%w: %s %s: %w", ErrNetwork, method, u, err)
	}
	// Success bodies are not read at all: tus replies carry their meaning in headers,
	// and a server dripping a body must not hold the upload.
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, fmt.Errorf("%w: %s %s answered %d toward %.128q; configure the final URL", ErrRedirect, method, u, resp.StatusCode, resp.Header.Get("Location"))
	}
	rep := &reply{method: method, url: u, status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode >= 300 {
		rep.body = readSnippet(resp.Body)
	}
	return rep, nil
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
// endpoint's, the upload URL's given to Upload, or AllowedOrigins): only such requests
// carry Headers, and a transport should attach credentials (cookies) only to them.
func Trusted(req *http.Request) bool {
	v, _ := req.Context().Value(trustedKey{}).(bool)
	return v
}

func (r *run) allowed(u *url.URL) bool {
	for _, o := range r.origins {
		if sameOrigin(o, u) {
			return true
		}
	}
	return false
}
