package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// call is the state of one public method call: the options checked and parsed, the
// upload it sends to, and how far it got.
type call struct {
	c        *Client
	rt       http.RoundTripper
	d        dialect
	src      Source // nil for Terminate
	in       source
	size     int64 // -1 while unknown (a stream that has not ended)
	declared bool  // the server knows the length (not deferred)
	chunk    *chunker
	retry    Retry
	endpoint *url.URL   // nil when only an upload URL was given
	upload   *url.URL   // the upload's URL, once known
	origins  []*url.URL // trusted: decided here, from what the caller wrote
	metadata string
	fp       string        // a File's fingerprint at endpoint ("" otherwise; see begin)
	caps     *capabilities // what OPTIONS said, when it was asked
	created  time.Time     // when the upload was created (for Store)
	// For the Store entry (see entry.go): the last use, how long it is held active,
	// when to renew that, and the Offered it holds; guarded by the root call's mu.
	used, activeUntil, renewAt time.Time
	storedOffer                int64
	expires                    time.Time // the upload's Upload-Expires, once a reply named one
	reported                   int64     // highest offset passed to OnProgress for this upload, -1 before
	// offered: end of the highest byte range offered to the upload by this process (this
	// call, and earlier ones per Client.Offers), or -1 when earlier offers are unknown.
	offered int64
	// recreated: this call already replaced an expired upload (it does so once).
	recreated bool
	// storeFailed: Store refused an entry; the result says so.
	storeFailed bool
	// A parallel upload: its parts (URLs as they are created), their progress, and
	// whether stored parts were taken up; partial marks a part's own call.
	mu       sync.Mutex
	parts    []Part
	partSent []int64
	resumed  bool
	partial  bool
	owner    *call // a part's call: the parallel upload's, and its part's index
	index    int
}

// newCall checks the Client's options for one call with source src (may be nil) and
// upload URL u (may be empty), before anything is sent.
func (c *Client) newCall(src Source, u UploadURL) (*call, error) {
	cl := &call{c: c, rt: c.Transport, src: src, reported: -1, offered: -1, size: -1,
		chunk: newChunker(c.ChunkSize, c.FixedChunkSize, c.TargetRequestTime), retry: c.Retry.withDefaults()}
	var err error
	if cl.d, err = newDialect(c); err != nil {
		return nil, err
	}
	if cl.rt == nil {
		if cl.rt = defaultTransport(); cl.rt == nil {
			return nil, fmt.Errorf("%w: Client.Transport is required under GOOS=js (set it to http.DefaultTransport for Go's own fetch transport)", ErrInvalidOption)
		}
	}
	if err := checkHeaders(c.Headers); err != nil {
		return nil, err
	}
	if c.ParallelUploads > MaxParallelParts || len(c.ParallelBoundaries) > MaxParallelParts {
		return nil, fmt.Errorf("%w: %d parallel parts (ParallelUploads %d, %d boundaries); at most %d", ErrInvalidOption,
			max(c.ParallelUploads, len(c.ParallelBoundaries)), c.ParallelUploads, len(c.ParallelBoundaries), MaxParallelParts)
	}
	if _, ok := checksumAlgorithms[c.Checksum]; c.Checksum != "" && !ok {
		return nil, fmt.Errorf("%w: checksum algorithm %q (want one of %v)", ErrInvalidOption, c.Checksum, ChecksumAlgorithms())
	}
	if c.Endpoint != "" {
		if cl.endpoint, err = parseEndpoint("endpoint", c.Endpoint); err != nil {
			return nil, err
		}
		cl.origins = append(cl.origins, cl.endpoint)
	} else if u.URL == "" {
		return nil, fmt.Errorf("%w: an endpoint is required to create an upload", ErrInvalidOption)
	}
	if u.URL != "" {
		if cl.upload, err = parseEndpoint("upload URL", u.URL); err != nil {
			return nil, err
		}
		if !u.FromServer {
			cl.origins = append(cl.origins, cl.upload)
		}
	}
	for _, o := range c.AllowedOrigins {
		u, err := parseEndpoint("allowed origin", o)
		if err != nil {
			return nil, err
		}
		cl.origins = append(cl.origins, u)
	}
	if cl.metadata, err = encodeMetadata(c.Metadata); err != nil {
		return nil, err
	}
	if src != nil {
		if cl.in, err = newSource(src); err != nil {
			return nil, err
		}
		if _, stream := src.(Stream); stream && (c.ParallelUploads > 1 || len(c.ParallelBoundaries) > 0) {
			return nil, fmt.Errorf("%w: parallel uploads need a File: a stream is read once, front to back", ErrInvalidOption)
		}
		cl.size = src.Size()
		cl.declared = cl.size >= 0
	}
	return cl, nil
}

// checkHeaders rejects header names and values that would split or corrupt a request
// or that fetch and net/http refuse: a name must be an RFC 9110 token, a value free of
// control characters (tab allowed).
func checkHeaders(h http.Header) error {
	for name, vs := range h {
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return r >= 0x80 || !tokenChar[r] }) >= 0 {
			return fmt.Errorf("%w: header name %q is not a token", ErrInvalidOption, name)
		}
		for _, v := range vs {
			if strings.IndexFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) >= 0 {
				return fmt.Errorf("%w: header %s contains CR, LF, NUL or another control character", ErrInvalidOption, name)
			}
		}
	}
	return nil
}

// tokenChar marks the characters of an RFC 9110 token.
var tokenChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

// begin prepares a call with source src: to upload u, or to create a new upload at
// Endpoint when u is empty. It takes a File's lock (release it when done) and, when
// asked to or when a checksum needs it, learns the server's capabilities.
func (c *Client) begin(ctx context.Context, src Source, u UploadURL) (*call, func(), error) {
	cl, err := c.newCall(src, u)
	if err != nil {
		return nil, nil, err
	}
	if u.URL == "" && cl.size < 0 {
		if err := cl.peek(ctx); err != nil {
			return nil, nil, err
		}
	}
	release := func() {}
	_, isFile := src.(File)
	if isFile && cl.endpoint != nil && (c.Store != nil || c.Lock != nil) {
		if cl.fp, err = cl.fingerprint(ctx, cl.endpoint); err != nil {
			return nil, nil, err
		}
	}
	if isFile && c.Lock != nil {
		key := cl.fp
		if key == "" {
			if key, err = cl.fingerprint(ctx, cl.upload); err != nil {
				return nil, nil, err
			}
		}
		if release, err = c.Lock(ctx, key); err != nil {
			return nil, nil, err
		}
		if release == nil {
			release = func() {}
		}
	}
	// OPTIONS first when asked to, for a checksum, and for a creation of unknown length:
	// a server without creation-defer-length would take the upload as complete, or as
	// one of its own maximum size (@uploadx/core), and never learn where it ends.
	creating := u.URL == ""
	if c.CheckServerCapabilities || c.Checksum != "" || creating && cl.size < 0 && cl.d.discovers() {
		target := cl.upload
		if creating {
			target = cl.endpoint
		}
		if err := cl.checkCapabilities(ctx, target, creating); err != nil {
			release()
			return nil, nil, err
		}
	}
	return cl, release, nil
}

// checkCapabilities sends OPTIONS and checks that the server speaks tus 1.0.0 and has
// what this call needs: creation (and creation-defer-length for a length not known
// yet) when creating, the checksum algorithm, room for the file.
func (cl *call) checkCapabilities(ctx context.Context, u *url.URL, creating bool) error {
	var rep *reply
	err := cl.retrying(ctx, func() (err error) {
		rep, err = cl.do(ctx, http.MethodOptions, u, nil, 0, nil)
		if err == nil && !success(rep.status) {
			err = rep.httpError()
		}
		return err
	})
	var he *HTTPError
	if errors.As(err, &he) && (he.Status == http.StatusNotFound || he.Status == http.StatusMethodNotAllowed || he.Status == http.StatusNotImplemented) {
		return fmt.Errorf("%w: OPTIONS %s answered %d", ErrUnsupportedServer, u, he.Status) // no OPTIONS: not a tus server
	}
	if err != nil {
		return err
	}
	caps, err := cl.d.readOptions(rep)
	if err != nil {
		return err
	}
	cl.caps = &caps
	if err := caps.suffice(cl.size, creating, cl.c.Checksum); err != nil {
		return err
	}
	return cl.bound(caps.limits)
}

// suffice checks that the server speaks tus 1.0.0 and has what a call needs: creation
// (and creation-defer-length for a size not known yet, -1) when creating, the checksum
// algorithm when one is set, and room for size bytes.
func (c *capabilities) suffice(size int64, creating bool, checksum string) error {
	lacks := func(what string) error {
		return fmt.Errorf("%w: the server lacks %s (Tus-Extension %.128q, Tus-Checksum-Algorithm %.64q)",
			ErrUnsupportedServer, what, strings.Join(c.extensions, ","), strings.Join(c.checksums, ","))
	}
	switch {
	case !c.speaks:
		return fmt.Errorf("%w: Tus-Version %.64q does not include 1.0.0", ErrUnsupportedServer, c.versions)
	case creating && !c.has("creation"):
		return lacks("the creation extension")
	case creating && size < 0 && !c.has("creation-defer-length"):
		return lacks("creation-defer-length, which a stream of unknown length needs")
	case checksum != "" && !c.has("checksum"):
		return lacks("the checksum extension")
	case checksum != "" && !slices.Contains(c.checksums, checksum):
		return lacks("the checksum algorithm " + checksum)
	case c.maxSize > 0 && size > c.maxSize:
		return fmt.Errorf("%w: the file is %d bytes, Tus-Max-Size is %d", ErrTooLarge, size, c.maxSize)
	}
	return nil
}

// has reports whether the server lists extension ext.
func (c *capabilities) has(ext string) bool { return slices.Contains(c.extensions, ext) }
