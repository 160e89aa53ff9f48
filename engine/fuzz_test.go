package engine

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "12", "-1", "1e3", " 5", "99999999999999999999", "", "+7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize("Upload-Offset", s)
		if err != nil {
			return
		}
		if n < 0 || strconv.FormatInt(n, 10) != trimZeros(s) {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
	})
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

func FuzzMetadata(f *testing.F) {
	for _, s := range []string{"filename d29ybGQ=,is_confidential", "a  b", "k ===", ",", "x eA==,y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		md, err := DecodeMetadata(h)
		if err != nil {
			return
		}
		enc, err := encodeMetadata(md)
		if err != nil {
			t.Fatalf("decoded metadata %q does not encode: %v", md, err)
		}
		again, err := DecodeMetadata(enc)
		if err != nil || len(again) != len(md) {
			t.Fatalf("round trip of %q: %q, %v", h, again, err)
		}
		for k, v := range md {
			if again[k] != v {
				t.Fatalf("round trip changed %q", k)
			}
		}
	})
}

func FuzzResolveLocation(f *testing.F) {
	for _, s := range []string{"/files/abc", "https://x/y", "javascript:alert(1)", "data:,x", "//evil/z", "", "http://[::1", "files/a?b#c"} {
		f.Add(s)
	}
	base, _ := url.Parse("http://127.0.0.1:8080/files/")
	f.Fuzz(func(t *testing.T, loc string) {
		u, err := resolveLocation(base, loc)
		if err != nil {
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(loc) > maxURLLength {
			t.Fatalf("resolveLocation(%q) = %s", loc, u)
		}
	})
}

// FuzzHeadOffset: whatever a HEAD reply says, an accepted offset lies within the file.
func FuzzHeadOffset(f *testing.F) {
	f.Add("0", "10", int64(10))
	f.Add("10", "", int64(10))
	f.Add("11", "10", int64(10))
	f.Add("-1", "10", int64(10))
	f.Add("5", "x", int64(10))
	f.Fuzz(func(t *testing.T, offset, length string, size int64) {
		if size < 0 {
			return
		}
		h := http.Header{"Upload-Offset": {offset}}
		if length != "" {
			h.Set("Upload-Length", length)
		}
		off, err := headOffset(h, size)
		if err == nil && (off < 0 || off > size) {
			t.Fatalf("headOffset(%q, %q, %d) = %d", offset, length, size, off)
		}
	})
}

// FuzzPatchOffset: an accepted PATCH reply confirms progress within the bytes sent.
func FuzzPatchOffset(f *testing.F) {
	f.Add("100", int64(0), int64(100))
	f.Add("50", int64(0), int64(100))
	f.Add("0", int64(0), int64(100))
	f.Add("200", int64(100), int64(50))
	f.Add("", int64(0), int64(1))
	f.Fuzz(func(t *testing.T, v string, offset, n int64) {
		if offset < 0 || n < 0 || offset > math.MaxInt64-n {
			return
		}
		next, err := patchOffset(http.Header{"Upload-Offset": {v}}, offset, n)
		if err == nil && (next < offset || next > offset+n) {
			t.Fatalf("patchOffset(%q, %d, %d) = %d", v, offset, n, next)
		}
	})
}

// FuzzCapabilities: an OPTIONS reply is accepted only when it speaks tus 1.0.0 and
// the file fits.
func FuzzCapabilities(f *testing.F) {
	f.Add("1.0.0,0.2.2", "creation,termination", "100", int64(50))
	f.Add("0.2.2", "creation", "", int64(1))
	f.Add("1.0.0", "", "10", int64(11))
	f.Add(" 1.0.0 ", "creation-with-upload", "abc", int64(0))
	f.Fuzz(func(t *testing.T, version, ext, maxSize string, size int64) {
		h := http.Header{"Tus-Version": {version}, "Tus-Extension": {ext}, "Tus-Max-Size": {maxSize}}
		err := checkCapabilities(h, size, true)
		if err != nil {
			return
		}
		if !strings.Contains(version, "1.0.0") || !strings.Contains(ext, "creation") {
			t.Fatalf("accepted Tus-Version %q Tus-Extension %q", version, ext)
		}
		if m, perr := strconv.ParseInt(maxSize, 10, 64); perr == nil && m > 0 && size > m {
			t.Fatalf("accepted a %d-byte file with Tus-Max-Size %q", size, maxSize)
		}
	})
}

// FuzzRetryAfter: a server's Retry-After never makes a wait negative or longer than
// MaxDelay.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "5", "-3", "99999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", ""} {
		f.Add(s, 3)
	}
	r := Retry{InitialDelay: time.Millisecond, MaxDelay: time.Second}.withDefaults()
	f.Fuzz(func(t *testing.T, v string, attempt int) {
		if attempt < 1 || attempt > 1000 {
			return
		}
		d := r.delay(attempt, http.Header{"Retry-After": {v}})
		if d < 0 || d > r.MaxDelay {
			t.Fatalf("delay(%d, Retry-After %q) = %v", attempt, v, d)
		}
	})
}
