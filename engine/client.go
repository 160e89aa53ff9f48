package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// DefaultStallTimeout is the floor of the deadline a request gets without
// RequestTimeout.
const DefaultStallTimeout = 30 * time.Second

// DefaultChunkSize is the largest PATCH body of a File when Client.ChunkSize is zero.
// fetch reports no progress inside a request, so a chunk is also the progress
// granularity; chunk.go sizes it to about DefaultTargetRequestTime below this maximum,
// which is high enough that a fast link is not held to many requests (each costs the
// browser some milliseconds to set up).
const DefaultChunkSize = 128 << 20

// DefaultStreamChunkSize is the same for a Stream, whose chunk is held in memory until
// the server confirms it.
const DefaultStreamChunkSize = 32 << 20

// Protocol names, as tus-js-client spells them.
const (
	ProtocolTus1        = "tus-v1"
	ProtocolIETFDraft05 = "ietf-draft-05"
)

// ExpiredPolicy says what to do when an upload URL answers 404 or 410 mid-upload.
type ExpiredPolicy int

const (
	// ExpiredError fails with an error wrapping ErrUploadExpired.
	ExpiredError ExpiredPolicy = iota
	// ExpiredRecreate creates a new upload at Endpoint (once per call), reports it
	// through OnCreate and OnUploadURL and starts over from byte 0.
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
	// Protocol is the wire protocol: ProtocolTus1 ("tus-v1", the default when empty) or
	// ProtocolIETFDraft05 ("ietf-draft-05"); anything else is ErrInvalidOption.
	Protocol string
	// Headers are added to every request sent to a trusted origin: the endpoint's, that
	// of an UploadURL the caller wrote (not one a server gave), and AllowedOrigins.
	Headers http.Header
	// HeadersFunc, when set, is called before every request to a trusted origin and its
	// headers are added after Headers (e.g. a token that must be refreshed).
	HeadersFunc func(ctx context.Context) (http.Header, error)
	// AllowedOrigins ("https://uploads.example.com") are trusted too.
	AllowedOrigins []string
	// Credentials is the credentials mode ("omit", "same-origin", "include"; empty:
	// "same-origin") for requests to trusted origins; every other request gets "omit".
	// The engine decides it per request and carries it on the request for the transport
	// (RequestCredentials).
	Credentials string
	// BeforeRequest may inspect or change each request to a trusted origin just before
	// it is sent; an error ends the call.
	BeforeRequest func(*http.Request) error
	// AfterResponse sees each reply from a trusted origin: status, headers and, for
	// error statuses, the start of the body. An error ends the call.
	AfterResponse func(*http.Request, *http.Response) error
	// ShouldRetry, when set, replaces the retry decision for failures of requests to
	// trusted origins that the server or the network caused (HTTP statuses and network
	// errors; see Recoverable for the default, which every other failure gets). attempt
	// counts from 1. The retry budget (Retry) still bounds the call. An error ends the
	// call as ErrHook.
	ShouldRetry func(ctx context.Context, err error, attempt int) (bool, error)
	// HookTimeout bounds each call of HeadersFunc, BeforeRequest, AfterResponse and
	// ShouldRetry (zero: DefaultHookTimeout): each gets a context that ends then, and a
	// function still running is a failure (ErrHook). The request's own deadline starts
	// after the hooks that run before it.
	HookTimeout time.Duration
	// ChunkSize is the largest PATCH body; zero means DefaultChunkSize. Below it the
	// size adapts to the measured throughput so that a request takes about
	// TargetRequestTime (zero: DefaultTargetRequestTime), starting at 512 KiB. A 413
	// reply to a PATCH halves it for the rest of the call.
	ChunkSize         int64
	TargetRequestTime time.Duration
	// FixedChunkSize sends every PATCH (but the last) with exactly ChunkSize bytes.
	FixedChunkSize bool
	// DisableCreationWithUpload keeps the creation POST empty. By default the first
	// chunk travels in it (creation-with-upload: one round trip less), except when
	// OPTIONS showed a server without the extension or a Checksum is set; a server or
	// proxy that refuses it gets the POST again without.
	DisableCreationWithUpload bool
	// ParallelUploads, when 2 or more, has CreateAndUpload send a File as that many
	// parts at once (the concatenation extension; never empty parts), each resumable
	// on its own, then join them; ParallelBoundaries sets the parts' ranges instead (in
	// order, covering the file). A server whose OPTIONS lacks concatenation gets one
	// upload (Result.Parts says which ran). Streams cannot be split: ErrInvalidOption.
	ParallelUploads    int
	ParallelBoundaries []Part
	// Checksum, when set ("sha1", "sha256", "sha384", "sha512"), makes each PATCH carry
	// Upload-Checksum over its bytes; the server must list the algorithm (OPTIONS is
	// sent first), and a 460 reply re-sends the chunk, counting as a failed attempt.
	Checksum string
	// RequestTimeout bounds each request. A timed-out request is retried. Zero means a
	// deadline derived per request (see StallTimeout), so that a server that accepts a
	// request and never answers cannot hold an upload.
	RequestTimeout time.Duration
	// StallTimeout is the floor of the derived deadline (zero: DefaultStallTimeout;
	// negative: no deadline at all). A request is given at least this, and for a body
	// several times what the measured throughput needs (or, before any measurement,
	// what 64 KiB/s needs), so slow links never trip it and a dead server always does.
	StallTimeout time.Duration
	// WaitOnline, when set, is called after a network error before retrying. It
	// returns once the network is believed reachable again (the browser's
	// navigator.onLine), reporting whether it had to wait; time spent offline does not
	// count against Retry, so an upload outlives an outage of any length.
	WaitOnline func(ctx context.Context) (waited bool, err error)
	// Lock, when set, is called before a call that uploads a file sends anything, with
	// the file's fingerprint; it returns when the file is locked for this call, or an
	// error wrapping ErrLocked (the browser's Web Locks: one tab per file).
	Lock func(ctx context.Context, fingerprint string) (release func(), err error)
	// Offers, when set, carries from call to call how far this process has offered bytes
	// to each upload (share one across the Clients of a process). A call that continues
	// an upload holds the server's offsets to that record; without one (another process
	// sent bytes to it, or Offers is nil) any offset up to the length is accepted, since
	// a server may still be storing an earlier request's body (see Offers).
	Offers *Offers
	// Metadata is sent as Upload-Metadata on creation.
	Metadata map[string]string
	// CheckServerCapabilities sends OPTIONS first and fails early on a non-tus server
	// or a file above Tus-Max-Size.
	CheckServerCapabilities bool
	Retry                   Retry
	// Store, when set, makes CreateAndUpload resume uploads it remembers.
	Store Store
	// FingerprintFunc, when set, names a File for the Store in place of its name and
	// modification time (tus-js-client's fingerprint option): the same key, size,
	// content sample and endpoint resume the same upload. An empty key keeps the
	// upload out of the Store. It is bounded by HookTimeout; a failure is ErrHook.
	FingerprintFunc func(ctx context.Context, f File) (string, error)
	// StoreMaxAge: entries no call created or continued for this long are dropped
	// whenever the Store is read (zero: DefaultStoreMaxAge; negative: kept until they
	// complete or expire), so abandoned uploads do not pile up.
	StoreMaxAge time.Duration
	OnExpired   ExpiredPolicy
}

// UploadURL names an existing upload. Only a URL the caller wrote extends trust
// (Headers, credentials, the request hooks) to its origin; one a server gave (a
// creation's Location, as OnUploadURL reported it) keeps the server-given rules
// wherever it travels: it is trusted only when its origin is trusted anyway.
type UploadURL struct {
	URL string
	// FromServer is true when a server gave the URL, false when the caller wrote it.
	FromServer bool
}

// Result describes a finished upload.
type Result struct {
	URL  string
	Size int64
	// Resumed is true when an earlier upload (from the Store) was continued.
	Resumed bool
	// ExpiresAt is the upload's Upload-Expires, when the server sent one.
	ExpiresAt time.Time
	// StoreFailed: the Store refused to keep the upload (a full localStorage), so it
	// went on without; an interruption would not have been resumable after a reload.
	StoreFailed bool
	// Parts is how many partial uploads the file went in (1: a single upload).
	Parts int
}

// Create makes a new upload for src at Endpoint and returns its URL, sending none of
// its bytes (see Upload.Create).
func (c *Client) Create(ctx context.Context, src Source) (string, error) {
	u, err := c.NewUpload(src, UploadURL{}, Events{})
	if err != nil {
		return "", err
	}
	return u.Create(ctx)
}

// Upload sends src to the existing upload at at, starting from the offset the server
// reports (see Upload.Run).
func (c *Client) Upload(ctx context.Context, src Source, at UploadURL) (Result, error) {
	u, err := c.NewUpload(src, at, Events{})
	if err != nil {
		return Result{}, err
	}
	return u.Run(ctx)
}

// CreateAndUpload resumes a File's upload from Store when one is remembered and still
// honoured by the server, and otherwise creates a new one; then it sends every byte
// (see Upload.Run).
func (c *Client) CreateAndUpload(ctx context.Context, src Source) (Result, error) {
	u, err := c.NewUpload(src, UploadURL{}, Events{})
	if err != nil {
		return Result{}, err
	}
	return u.Run(ctx)
}

// FindPreviousUploads lists what Store remembers for f at Endpoint; a stale entry
// (past its expiry, or unused for StoreMaxAge) is left out and removed.
func (c *Client) FindPreviousUploads(ctx context.Context, f File) ([]StoredUpload, error) {
	if c.Store == nil {
		return nil, nil
	}
	if c.Endpoint == "" {
		return nil, fmt.Errorf("%w: an endpoint is required to find uploads", ErrInvalidOption)
	}
	fp, err := c.Fingerprint(ctx, f)
	if err != nil || fp == "" {
		return nil, err
	}
	u, found, err := c.Store.Get(ctx, fp)
	if err != nil || !found {
		return nil, err
	}
	if u.stale(time.Now(), c.storeMaxAge()) {
		_ = c.Store.Delete(ctx, fp)
		return nil, nil
	}
	return []StoredUpload{u}, nil
}

// ListUploads lists what Store remembers, leaving out (and removing) stale entries.
func (c *Client) ListUploads(ctx context.Context) ([]StoredUpload, error) {
	if c.Store == nil {
		return nil, nil
	}
	list, err := c.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	now, maxAge := time.Now(), c.storeMaxAge()
	return slices.DeleteFunc(list, func(u StoredUpload) bool {
		if u.stale(now, maxAge) {
			_ = c.Store.Delete(ctx, u.Fingerprint)
			return true
		}
		return false
	}), nil
}

func (c *Client) storeMaxAge() time.Duration {
	if c.StoreMaxAge == 0 {
		return DefaultStoreMaxAge
	}
	return c.StoreMaxAge
}

// Terminate deletes the upload at at on the server (termination extension); one that
// is already gone (404, 410) counts as deleted. A final upload's parts (its HEAD lists
// them) are deleted too: tusd, for one, keeps them. Store entries for it go as well.
func (c *Client) Terminate(ctx context.Context, at UploadURL) error {
	p, err := c.newPolicy(at)
	if err != nil {
		return err
	}
	return p.terminate(ctx, at)
}

// terminate deletes the upload at at (and a final upload's parts) and forgets it.
func (p *policy) terminate(ctx context.Context, at UploadURL) error {
	u, err := parseEndpoint("upload URL", at.URL)
	if err != nil {
		return err
	}
	cl, _ := newCall(p, nil, u, Events{})
	if err := cl.deleteUpload(ctx, u, cl.d.concatenation()); err != nil {
		return err
	}
	p.c.Offers.forget(u.String())
	cl.forget(ctx, u.String())
	return nil
}

// deleteStored deletes on the server the upload a Store entry names (an
// unfinished parallel upload's parts too) and forgets it.
func (p *policy) deleteStored(ctx context.Context, e StoredUpload) error {
	if err := p.deleteTrusted(ctx, append([]string{e.URL}, partURLs(e.Parts)...)); err != nil {
		return err
	}
	_ = p.c.Store.Delete(ctx, e.Fingerprint)
	return nil
}

// terminateParts deletes an unfinished parallel upload's parts, as an earlier run left
// them, and forgets src's Store entry. Every part is deleted, on whatever origin: they
// are this Upload's own (a server named them to its run, which sent to them; stored
// ones were taken up only on trusted origins), and a DELETE to an origin the caller
// did not configure goes as the PATCHes did, without headers, hooks or credentials.
func (p *policy) terminateParts(ctx context.Context, src Source, parts []Part) error {
	cl, _ := newCall(p, nil, nil, Events{})
	var urls []*url.URL
	for _, raw := range partURLs(parts) {
		if u, err := parseEndpoint("part URL", raw); err == nil {
			urls = append(urls, u)
		}
	}
	if err := cl.deleteEach(ctx, urls); err != nil {
		return fmt.Errorf("tus: deleting the upload's parts: %w", err)
	}
	if f, ok := src.(File); ok && p.c.Store != nil {
		if fp, err := p.c.Fingerprint(ctx, f); err == nil && fp != "" {
			_ = p.c.Store.Delete(ctx, fp)
		}
	}
	return nil
}

// deleteTrusted deletes the uploads at raw URLs on origins the policy trusts (others
// were never stored by this engine: nothing of ours is there).
func (p *policy) deleteTrusted(ctx context.Context, raw []string) error {
	cl, _ := newCall(p, nil, nil, Events{})
	var urls []*url.URL
	for _, r := range raw {
		if u, err := parseEndpoint("stored upload URL", r); err == nil && cl.trusts(u) {
			urls = append(urls, u)
		}
	}
	if err := cl.deleteEach(ctx, urls); err != nil {
		return fmt.Errorf("tus: deleting the upload's parts: %w", err)
	}
	return nil
}

func partURLs(parts []Part) []string {
	var out []string
	for _, p := range parts {
		if p.URL != "" {
			out = append(out, p.URL)
		}
	}
	return out
}
