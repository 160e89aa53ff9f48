package engine

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// policy is a Client's options checked and parsed for one upload: what every request
// of it follows. It is made once (NewUpload) and never changes.
type policy struct {
	c        *Client
	rt       http.RoundTripper
	d        dialect
	retry    Retry
	endpoint *url.URL   // nil when only an upload URL was given
	origins  []*url.URL // trusted: decided here, from what the caller wrote
	metadata string
}

// newPolicy checks c's options for an upload at at (empty: one to create), before
// anything is sent.
func (c *Client) newPolicy(at UploadURL) (*policy, error) {
	p := &policy{c: c, rt: c.Transport, retry: c.Retry.withDefaults()}
	var err error
	if p.d, err = newDialect(c); err != nil {
		return nil, err
	}
	if p.rt == nil {
		if p.rt = defaultTransport(); p.rt == nil {
			return nil, fmt.Errorf("%w: Client.Transport is required under GOOS=js (set it to http.DefaultTransport for Go's own fetch transport)", ErrInvalidOption)
		}
	}
	if err := c.checkOptions(); err != nil {
		return nil, err
	}
	if c.Endpoint != "" {
		if p.endpoint, err = parseEndpoint("endpoint", c.Endpoint); err != nil {
			return nil, err
		}
		p.origins = append(p.origins, p.endpoint)
	} else if at.URL == "" {
		return nil, fmt.Errorf("%w: an endpoint is required to create an upload", ErrInvalidOption)
	}
	if at.URL != "" {
		u, err := parseEndpoint("upload URL", at.URL)
		if err != nil {
			return nil, err
		}
		if !at.FromServer {
			p.origins = append(p.origins, u)
		}
	}
	for _, o := range c.AllowedOrigins {
		u, err := parseEndpoint("allowed origin", o)
		if err != nil {
			return nil, err
		}
		p.origins = append(p.origins, u)
	}
	if p.metadata, err = encodeMetadata(c.Metadata); err != nil {
		return nil, err
	}
	return p, nil
}

// checkOptions checks the options that stand on their own.
func (c *Client) checkOptions() error {
	if err := checkHeaders(c.Headers); err != nil {
		return err
	}
	if c.ParallelUploads > MaxParallelParts || len(c.ParallelBoundaries) > MaxParallelParts {
		return fmt.Errorf("%w: %d parallel parts (ParallelUploads %d, %d boundaries); at most %d", ErrInvalidOption,
			max(c.ParallelUploads, len(c.ParallelBoundaries)), c.ParallelUploads, len(c.ParallelBoundaries), MaxParallelParts)
	}
	switch c.Credentials {
	case "", CredentialsOmit, CredentialsSameOrigin, CredentialsInclude:
	default:
		return fmt.Errorf("%w: credentials %q (want %q, %q or %q)", ErrInvalidOption, c.Credentials, CredentialsOmit, CredentialsSameOrigin, CredentialsInclude)
	}
	if _, ok := checksumAlgorithms[c.Checksum]; c.Checksum != "" && !ok {
		return fmt.Errorf("%w: checksum algorithm %q (want one of %v)", ErrInvalidOption, c.Checksum, ChecksumAlgorithms())
	}
	return nil
}

// parallel reports whether the policy splits a File into parts.
func (p *policy) parallel() bool {
	return p.c.ParallelUploads > 1 || len(p.c.ParallelBoundaries) > 0
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
