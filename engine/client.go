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

// DefaultChunkSize is the largest PATCH body when Client.ChunkSize is zero. fetch
// reports no progress inside a request, so a chunk is also the progress granularity;
// see chunk.go for how the size adapts below this maximum.
const DefaultChunkSize = 32 << 20

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
	// StoreMaxAge: entries no call created or continued for this long are dropped
	// whenever the Store is read (zero: DefaultStoreMaxAge; negative: kept until they
	// complete or expire), so abandoned uploads do not pile up.
	StoreMaxAge time.Duration
	OnExpired   ExpiredPolicy
	// OnCreate receives a new upload's URL before its first byte is sent.
	OnCreate func(url string)
	// OnUploadURL receives the URL of the upload the call sends to: after creating it,
	// and after the first HEAD when continuing one (from Store or an UploadURL). When a
	// call has to start over with a new upload (the old one expired), it reports the
	// new URL before progress starts again from 0.
	OnUploadURL func(url string)
	// OnProgress receives the bytes the server has confirmed of the current upload:
	// monotonic, at least once per chunk, ending at total. It goes back only after
	// OnUploadURL has announced a new upload.
	OnProgress func(sent, total int64)
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
// its bytes. (A Stream is read up to the first chunk, to learn whether its length is
// known; Upload then continues from its first byte.)
func (c *Client) Create(ctx context.Context, src Source) (string, error) {
	cl, release, err := c.begin(ctx, src, UploadURL{})
	if err != nil {
		return "", err
	}
	defer release()
	if _, err := cl.create(ctx, false); err != nil {
		return "", err
	}
	return cl.upload.String(), nil
}

// Upload sends src to the existing upload at u, starting from the offset the server
// reports. It returns at once when the upload is already complete. A Stream continues
// where an earlier call (a pause) left it.
func (c *Client) Upload(ctx context.Context, src Source, u UploadURL) (Result, error) {
	cl, release, err := c.begin(ctx, src, u)
	if err != nil {
		return Result{}, err
	}
	defer release()
	offset, err := cl.open(ctx)
	if cl.recreates(err) {
		offset, err = cl.recreate(ctx)
	}
	res := Result{}
	if err == nil {
		res, err = cl.finish(ctx, offset)
	}
	if err != nil {
		cl.endLease(ctx)
	}
	return res, err
}

// CreateAndUpload resumes a File's upload from Store when one is remembered and still
// honoured by the server, and otherwise creates a new one; then it sends every byte.
func (c *Client) CreateAndUpload(ctx context.Context, src Source) (Result, error) {
	cl, release, err := c.begin(ctx, src, UploadURL{})
	if err != nil {
		return Result{}, err
	}
	defer release()
	upload := cl.sequential
	if cl.parallel() {
		upload = cl.uploadParallel
	}
	res, err := upload(ctx)
	if err != nil {
		cl.endLease(ctx)
	}
	return res, err
}

// FindPreviousUploads lists what Store remembers for f at Endpoint; a stale entry
// (past its expiry, or unused for StoreMaxAge) is left out and removed.
func (c *Client) FindPreviousUploads(ctx context.Context, f File) ([]StoredUpload, error) {
	if c.Store == nil {
		return nil, nil
	}
	cl, err := c.newCall(f, UploadURL{})
	if err == nil && cl.endpoint == nil {
		err = fmt.Errorf("%w: an endpoint is required to find uploads", ErrInvalidOption)
	}
	if err == nil {
		cl.fp, err = cl.fingerprint(ctx, cl.endpoint)
	}
	if err != nil {
		return nil, err
	}
	u, found, err := c.Store.Get(ctx, cl.fp)
	if err != nil || !found {
		return nil, err
	}
	if u.stale(time.Now(), c.storeMaxAge()) {
		_ = c.Store.Delete(ctx, cl.fp)
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

// Terminate deletes the upload at u on the server (termination extension); one that is
// already gone (404, 410) counts as deleted. A final upload's parts (its HEAD lists
// them) are deleted too: tusd, for one, keeps them. Store entries for it go as well.
func (c *Client) Terminate(ctx context.Context, u UploadURL) error {
	cl, err := c.newCall(nil, u)
	if err != nil {
		return err
	}
	if err := cl.deleteUpload(ctx, cl.upload, cl.d.concatenation()); err != nil {
		return err
	}
	c.Offers.forget(cl.upload.String())
	cl.forget(ctx, cl.upload.String())
	return nil
}

// TerminateStored deletes on the server the upload Store remembers for f at Endpoint
// (an unfinished parallel upload's parts too) and forgets it: what Upload.abort
// needs before it knows an upload URL.
func (c *Client) TerminateStored(ctx context.Context, f File) error {
	prev, err := c.FindPreviousUploads(ctx, f)
	if err != nil || len(prev) == 0 {
		return err
	}
	cl, err := c.newCall(nil, UploadURL{})
	if err != nil {
		return err
	}
	e := prev[0]
	var urls []*url.URL
	for _, raw := range append([]string{e.URL}, partURLs(e.Parts)...) {
		if u, err := parseEndpoint("stored upload URL", raw); err == nil && cl.trusts(u) {
			urls = append(urls, u) // others were never stored by this engine: nothing of ours there
		}
	}
	if err := cl.deleteEach(ctx, urls); err != nil {
		return fmt.Errorf("tus: deleting the stored upload: %w", err)
	}
	_ = c.Store.Delete(ctx, e.Fingerprint)
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
