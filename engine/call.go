package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// call is the state of one public method call: the options checked and parsed, the
// upload it sends to, and how far it got.
type call struct {
	c        *Client
	rt       http.RoundTripper
	d        dialect
	f        File
	size     int64
	chunk    *chunker
	retry    Retry
	endpoint *url.URL   // nil when only an upload URL was given
	upload   *url.URL   // the upload's URL, once known
	origins  []*url.URL // trusted: decided here, from what the caller wrote
	metadata string
	fp       string // f's fingerprint at endpoint ("" without either)
	reported int64  // highest offset passed to OnProgress for this upload, -1 before
	offered  int64  // end of the highest byte range sent to this upload in this call
	// recreated: this call already replaced an expired upload (it does so once).
	recreated bool
}

// newCall checks the Client's options for one call with file f (may be nil) and upload
// URL u (may be empty), before anything is sent.
func (c *Client) newCall(f File, u UploadURL) (*call, error) {
	cl := &call{c: c, rt: c.Transport, d: tus1{}, f: f, reported: -1,
		chunk: newChunker(c.ChunkSize, c.FixedChunkSize, c.TargetRequestTime), retry: c.Retry.withDefaults()}
	if cl.rt == nil {
		if cl.rt = defaultTransport(); cl.rt == nil {
			return nil, fmt.Errorf("%w: Client.Transport is required under GOOS=js (set it to http.DefaultTransport for Go's own fetch transport)", ErrInvalidOption)
		}
	}
	if err := checkHeaders(c.Headers); err != nil {
		return nil, err
	}
	var err error
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
	if f != nil {
		if cl.size = f.Size(); cl.size < 0 {
			return nil, fmt.Errorf("%w: file size %d", ErrInvalidOption, cl.size)
		}
		if cl.endpoint != nil {
			cl.fp = fileFingerprint(f, cl.endpoint.String())
		}
	}
	return cl, nil
}

// checkHeaders rejects header names and values that would split or corrupt a request.
func checkHeaders(h http.Header) error {
	for name, vs := range h {
		if name == "" || strings.ContainsAny(name, " :\r\n\x00") {
			return fmt.Errorf("%w: header name %q", ErrInvalidOption, name)
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n\x00") {
				return fmt.Errorf("%w: header %s contains CR, LF or NUL", ErrInvalidOption, name)
			}
		}
	}
	return nil
}

// begin prepares a call with file f: to upload u, or to create a new upload at
// Endpoint when u is empty. It takes the file's lock (release it when done) and, when
// asked to, checks the server's capabilities.
func (c *Client) begin(ctx context.Context, f File, u UploadURL) (*call, func(), error) {
	cl, err := c.newCall(f, u)
	if err != nil {
		return nil, nil, err
	}
	release := func() {}
	if c.Lock != nil && f != nil {
		key := cl.fp
		if key == "" {
			key = fileFingerprint(f, cl.upload.String())
		}
		if release, err = c.Lock(ctx, key); err != nil {
			return nil, nil, err
		}
	}
	target, creating := cl.upload, false
	if u.URL == "" {
		target, creating = cl.endpoint, true
	}
	if err := cl.checkCapabilities(ctx, target, creating); err != nil {
		release()
		return nil, nil, err
	}
	return cl, release, nil
}

// checkCapabilities sends OPTIONS when asked to and lets the dialect judge the reply.
func (cl *call) checkCapabilities(ctx context.Context, u *url.URL, creating bool) error {
	if !cl.c.CheckServerCapabilities {
		return nil
	}
	var rep *reply
	err := cl.retrying(ctx, func() (err error) {
		rep, err = cl.do(ctx, http.MethodOptions, u, nil, 0, nil)
		if err == nil && rep.status >= 500 {
			err = rep.httpError()
		}
		return err
	})
	if err != nil {
		return err
	}
	return cl.d.readOptions(rep, cl.size, creating)
}
