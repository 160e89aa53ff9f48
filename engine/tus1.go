package engine

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// tus1 is tus 1.0.0 (https://tus.io/protocols/resumable-upload): the core protocol and
// the creation, creation-with-upload, creation-defer-length, termination, checksum and
// expiration extensions.
type tus1 struct{}

const (
	tusVersion  = "1.0.0"
	contentType = "application/offset+octet-stream"
	// statusChecksumMismatch is the checksum extension's answer to corrupted bytes.
	statusChecksumMismatch = 460
	// maxParts bounds how many parts of a final upload a HEAD may name.
	maxParts = 1024
)

func (tus1) common(h http.Header) { h.Set("Tus-Resumable", tusVersion) }

func (tus1) createHeaders(h http.Header, c creation) {
	switch {
	case c.final != nil: // its length is its parts'
		h.Set("Upload-Concat", "final;"+strings.Join(c.final, " "))
	case c.size < 0:
		h.Set("Upload-Defer-Length", "1")
	default:
		h.Set("Upload-Length", strconv.FormatInt(c.size, 10))
	}
	if c.partial {
		h.Set("Upload-Concat", "partial")
	}
	if c.metadata != "" {
		h.Set("Upload-Metadata", c.metadata)
	}
	if c.body > 0 {
		h.Set("Content-Type", contentType)
	}
}

// readCreate wants a 2xx with a Location: the protocol says 201, but @uploadx/core
// answers 200 to a POST that carried bytes, and the status costs no byte (what
// protects them, Location, Tus-Resumable and Upload-Offset, is checked). A reply to a
// POST that carried bytes may be an error that still names the upload (tusd creates
// it, then fails on the body): that upload exists and the loop continues it after a
// HEAD.
func (d tus1) readCreate(rep *reply, endpoint *url.URL, c creation) (*url.URL, state, error) {
	st := state{offset: -1, length: -1}
	if !success(rep.status) {
		if c.body > 0 && rep.header.Get("Location") != "" && d.checkVersion(rep) == nil {
			if u, err := resolveLocation(endpoint, rep.header.Get("Location")); err == nil {
				return u, st, nil
			}
		}
		return nil, st, rep.httpError()
	}
	if err := d.checkVersion(rep); err != nil {
		return nil, st, err
	}
	u, err := resolveLocation(endpoint, rep.header.Get("Location"))
	if err != nil {
		return nil, st, err
	}
	st.expires = parseExpires(rep.header.Get("Upload-Expires"))
	if c.body == 0 {
		st.offset = 0
	} else if v := rep.header.Get("Upload-Offset"); v != "" {
		// A server without creation-with-upload ignores the bytes and names no offset.
		if st.offset, err = patchOffset(rep.header, 0, c.body); err != nil {
			return nil, st, err
		}
	}
	return u, st, nil
}

// success reports a 2xx status. Which 2xx a reply uses carries no meaning the client
// needs (tus says 201 for a creation, 204 for an append; some servers send 200), so
// any is taken, and the headers are held to the protocol.
func success(status int) bool { return status >= 200 && status < 300 }

func (d tus1) readHead(rep *reply) (state, error) {
	st := state{offset: -1, length: -1}
	if rep.status != http.StatusOK && rep.status != http.StatusNoContent {
		return st, rep.httpError()
	}
	if err := d.checkVersion(rep); err != nil {
		return st, err
	}
	var err error
	if st.offset, err = parseSize("Upload-Offset", rep.header.Get("Upload-Offset")); err != nil {
		return st, err
	}
	if l := rep.header.Get("Upload-Length"); l != "" {
		if st.length, err = parseSize("Upload-Length", l); err != nil {
			return st, err
		}
	}
	st.deferred = rep.header.Get("Upload-Defer-Length") == "1" && st.length < 0
	st.expires = parseExpires(rep.header.Get("Upload-Expires"))
	// A final upload's parts, on its own origin only (a hostile list must not send
	// DELETEs elsewhere), and a bounded number of them; the rest are counted.
	if list, ok := strings.CutPrefix(rep.header.Get("Upload-Concat"), "final;"); ok {
		for _, raw := range strings.Fields(list) {
			if u, err := resolveLocation(rep.url, raw); err == nil && sameOrigin(u, rep.url) && len(st.parts) < maxParts {
				st.parts = append(st.parts, u)
			} else {
				st.partsLeft++
			}
		}
	}
	return st, nil
}

func (tus1) appendHeaders(h http.Header, a appending) {
	h.Set("Upload-Offset", strconv.FormatInt(a.offset, 10))
	h.Set("Content-Type", contentType)
	if a.declare >= 0 {
		h.Set("Upload-Length", strconv.FormatInt(a.declare, 10))
	}
	if a.sum != "" {
		h.Set("Upload-Checksum", a.sum)
	}
}

func (d tus1) readAppend(rep *reply, offset, n int64) (state, error) {
	st := state{offset: -1, length: -1}
	if !success(rep.status) { // 204 in the protocol; @uploadx/core answers the last with 200 and a body
		return st, rep.httpError()
	}
	if err := d.checkVersion(rep); err != nil {
		return st, err
	}
	var err error
	st.offset, err = patchOffset(rep.header, offset, n)
	st.expires = parseExpires(rep.header.Get("Upload-Expires"))
	return st, err
}

// readDelete accepts a 2xx (the protocol says 204), and 404 or 410: an upload that is
// already gone is what termination wanted.
func (tus1) readDelete(rep *reply) error {
	if success(rep.status) || rep.status == http.StatusNotFound || rep.status == http.StatusGone {
		return nil
	}
	return rep.httpError()
}

func (tus1) readOptions(rep *reply) (capabilities, error) {
	var c capabilities
	if !success(rep.status) {
		return c, fmt.Errorf("%w: OPTIONS %s answered %d", ErrUnsupportedServer, rep.url, rep.status)
	}
	c.versions = rep.header.Get("Tus-Version")
	// Tus-Version is required; @uploadx/core leaves it out but says Tus-Resumable: 1.0.0,
	// which names the version as well.
	c.speaks = slices.Contains(tokens(c.versions), tusVersion) ||
		c.versions == "" && rep.header.Get("Tus-Resumable") == tusVersion
	c.extensions = tokens(rep.header.Get("Tus-Extension"))
	c.checksums = tokens(rep.header.Get("Tus-Checksum-Algorithm"))
	if v := rep.header.Get("Tus-Max-Size"); v != "" {
		var err error
		if c.maxSize, err = parseSize("Tus-Max-Size", v); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (tus1) concatenation() bool { return true }

func (tus1) discovers() bool { return true }

// checksum is the Upload-Checksum value for a digest.
func checksumHeader(algorithm string, digest []byte) string {
	return algorithm + " " + base64.StdEncoding.EncodeToString(digest)
}

// checkVersion requires Tus-Resumable: 1.0.0 on a reply: its absence is how a web
// page, a proxy's error page or a CORS policy that hides the header shows itself.
func (tus1) checkVersion(rep *reply) error {
	switch v := rep.header.Get("Tus-Resumable"); v {
	case tusVersion:
		return nil
	case "":
		return protocolErr("%s %s: reply has no Tus-Resumable header (not a tus server, or CORS does not expose it)", rep.method, rep.url)
	default:
		return protocolErr("%s %s: reply has Tus-Resumable %.32q, want 1.0.0", rep.method, rep.url, v)
	}
}

// tokens splits a comma-separated header value.
func tokens(list string) []string {
	var out []string
	for _, t := range strings.Split(list, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
