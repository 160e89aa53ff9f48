package engine

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// parseSize parses a non-negative decimal header value (Upload-Offset, Upload-Length,
// Tus-Max-Size). It accepts digits only: no sign, no spaces, no overflow.
func parseSize(name, v string) (int64, error) {
	if v == "" {
		return 0, protocolErr("missing %s header", name)
	}
	if len(v) > 19 {
		return 0, protocolErr("%s %.32q is too long", name, v)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, protocolErr("%s %.32q is not a non-negative integer", name, v)
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, protocolErr("%s %.32q: %v", name, v, err)
	}
	return n, nil
}

// maxURLLength bounds an upload URL from the server: it is stored and sent back with
// every request, so a hostile megabyte-long Location must not be.
const maxURLLength = 8 << 10

// resolveLocation resolves a Location header against the request URL (RFC 3986) and
// accepts only http(s) results with a host.
func resolveLocation(base *url.URL, location string) (*url.URL, error) {
	if location == "" {
		return nil, protocolErr("creation reply has no Location header")
	}
	if len(location) > maxURLLength {
		return nil, protocolErr("Location of %d bytes is longer than the %d accepted", len(location), maxURLLength)
	}
	ref, err := url.Parse(location)
	if err != nil {
		return nil, protocolErr("Location %.64q: %v", location, err)
	}
	u := base.ResolveReference(ref)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, protocolErr("Location %.64q has scheme %q, want http or https", location, u.Scheme)
	}
	if u.Host == "" {
		return nil, protocolErr("Location %.64q has no host", location)
	}
	if u.User != nil {
		// Credentials in a URL would be stored and sent back; fetch refuses them anyway.
		return nil, protocolErr("Location %.64q carries credentials (userinfo)", u.Redacted())
	}
	u.Fragment = ""
	return u, nil
}

// parseEndpoint validates a caller-supplied URL.
func parseEndpoint(what, s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: %s is empty", ErrInvalidOption, what)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidOption, what, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %s %q must be an absolute http(s) URL", ErrInvalidOption, what, s)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: %s %q must not carry credentials (userinfo): use headers", ErrInvalidOption, what, u.Redacted())
	}
	return u, nil
}

// validMetadataKey reports whether k may be an Upload-Metadata key: non-empty printable
// ASCII without spaces or commas.
func validMetadataKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || c == ',' {
			return false
		}
	}
	return true
}

// encodeMetadata builds an Upload-Metadata value, keys sorted for a stable header.
func encodeMetadata(md map[string]string) (string, error) {
	keys := make([]string, 0, len(md))
	for k := range md {
		if !validMetadataKey(k) {
			return "", fmt.Errorf("%w: metadata key %q must be non-empty ASCII without spaces or commas", ErrInvalidOption, k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		if v := md[k]; v != "" {
			b.WriteByte(' ')
			b.WriteString(base64.StdEncoding.EncodeToString([]byte(v)))
		}
	}
	return b.String(), nil
}

// DecodeMetadata parses an Upload-Metadata value as a server sends it (HEAD replies).
func DecodeMetadata(h string) (map[string]string, error) {
	md := map[string]string{}
	if strings.TrimSpace(h) == "" {
		return md, nil
	}
	for _, pair := range strings.Split(h, ",") {
		fields := strings.Fields(pair)
		if len(fields) == 0 || len(fields) > 2 || !validMetadataKey(fields[0]) {
			return nil, protocolErr("malformed Upload-Metadata pair %.64q", pair)
		}
		v := ""
		if len(fields) == 2 {
			raw, err := base64.StdEncoding.DecodeString(fields[1])
			if err != nil {
				return nil, protocolErr("Upload-Metadata value of %q is not base64", fields[0])
			}
			v = string(raw)
		}
		md[fields[0]] = v
	}
	return md, nil
}

// sameOrigin compares scheme, host and port (default ports made explicit).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return u.Host + ":443"
	}
	return u.Host + ":80"
}

// errLengthMismatch: the server's upload is not as long as the file.
var errLengthMismatch = fmt.Errorf("%w: lengths differ", ErrFileChanged)

// maxExpiry bounds how far ahead an Upload-Expires may lie: a hostile date cannot make
// an entry immortal or overflow.
const maxExpiry = 10 * 365 * 24 * time.Hour

// parseExpires reads Upload-Expires (an HTTP date). A missing or malformed value is no
// expiry: it only informs, so it never fails an upload.
func parseExpires(v string) time.Time {
	if v == "" || len(v) > 64 {
		return time.Time{}
	}
	t, err := http.ParseTime(v)
	if err != nil || t.Year() < 1970 {
		return time.Time{}
	}
	if limit := time.Now().Add(maxExpiry); t.After(limit) {
		return limit.UTC().Truncate(time.Second)
	}
	return t.UTC()
}

// patchOffset validates the Upload-Offset of a 204 to a PATCH of n bytes at offset:
// it may confirm part of them (the loop judges whether enough), never fewer than
// offset nor more than were sent.
func patchOffset(h http.Header, offset, n int64) (int64, error) {
	next, err := parseSize("Upload-Offset", h.Get("Upload-Offset"))
	if err != nil {
		return 0, err
	}
	switch {
	case next < offset:
		return 0, protocolErr("PATCH at offset %d answered Upload-Offset %d: the offset went backwards", offset, next)
	case next > offset+n:
		return 0, protocolErr("PATCH of bytes %d-%d answered Upload-Offset %d, past the bytes sent", offset, offset+n, next)
	}
	return next, nil
}
