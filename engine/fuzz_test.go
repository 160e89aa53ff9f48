package engine

import (
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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

// FuzzHeadOffset: whatever a HEAD reply says, an accepted offset lies within the file
// and within the bytes offered.
func FuzzHeadOffset(f *testing.F) {
	f.Add("0", "10", "", int64(10), int64(5), false)
	f.Add("10", "", "", int64(10), int64(10), true)
	f.Add("11", "10", "", int64(10), int64(11), false)
	f.Add("-1", "10", "", int64(10), int64(0), true)
	f.Add("5", "x", "", int64(10), int64(5), false)
	f.Add("5", "", "1", int64(-1), int64(7), false)
	f.Add("5", "9", "", int64(-1), int64(-1), false)
	f.Fuzz(func(t *testing.T, offset, length, deferred string, size, offered int64, baseline bool) {
		if size < -1 || offered < -1 {
			return
		}
		h := http.Header{"Upload-Offset": {offset}, "Tus-Resumable": {"1.0.0"}}
		if length != "" {
			h.Set("Upload-Length", length)
		}
		if deferred != "" {
			h.Set("Upload-Defer-Length", deferred)
		}
		u, _ := url.Parse("http://x/files/1")
		st, err := tus1{}.readHead(&reply{method: "HEAD", url: u, status: 200, header: h})
		if err != nil {
			return
		}
		got, err := judgeHead(st, size, offered, baseline)
		if err != nil {
			return
		}
		if st.offset < 0 || (got >= 0 && st.offset > got) || (offered >= 0 && st.offset > offered) || (size >= 0 && got != size) ||
			(size < 0 && !baseline && got >= 0) {
			t.Fatalf("judgeHead(%+v, %d, %d, %v) = %d accepted", st, size, offered, baseline, got)
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

// FuzzCapabilities: an OPTIONS reply is accepted only when it speaks tus 1.0.0, has
// what the call needs and the file fits.
func FuzzCapabilities(f *testing.F) {
	f.Add("1.0.0,0.2.2", "creation,termination", "", "100", int64(50), "")
	f.Add("0.2.2", "creation", "", "", int64(1), "")
	f.Add("1.0.0", "", "", "10", int64(11), "")
	f.Add(" 1.0.0 ", "creation-with-upload", "", "abc", int64(0), "")
	f.Add("1.0.0", "creation,checksum", "sha1, md5", "", int64(-1), "sha1")
	f.Fuzz(func(t *testing.T, version, ext, algos, maxSize string, size int64, checksum string) {
		h := http.Header{"Tus-Version": {version}, "Tus-Extension": {ext}, "Tus-Max-Size": {maxSize}, "Tus-Checksum-Algorithm": {algos}}
		u, _ := url.Parse("http://x/files/")
		caps, err := tus1{}.readOptions(&reply{method: "OPTIONS", url: u, status: 204, header: h})
		if err != nil || caps.suffice(size, true, checksum) != nil {
			return
		}
		has := func(list, tok string) bool { return slices.Contains(tokens(list), tok) }
		if !has(version, "1.0.0") || !has(ext, "creation") || (size < 0 && !has(ext, "creation-defer-length")) ||
			(checksum != "" && (!has(ext, "checksum") || !has(algos, checksum))) {
			t.Fatalf("accepted Tus-Version %q Tus-Extension %q Tus-Checksum-Algorithm %q for size %d checksum %q", version, ext, algos, size, checksum)
		}
		if m, perr := strconv.ParseInt(maxSize, 10, 64); perr == nil && m > 0 && size > m {
			t.Fatalf("accepted a %d-byte file with Tus-Max-Size %q", size, maxSize)
		}
	})
}

// FuzzExpires: any Upload-Expires is no expiry or a date between 1970 and ten years on.
func FuzzExpires(f *testing.F) {
	for _, s := range []string{"Wed, 25 Nov 2026 12:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
		"Thu, 01 Jan 9999 00:00:00 GMT", "tomorrow", "", "Mon, 01 Jan 0001 00:00:00 GMT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		e := parseExpires(v)
		if !e.IsZero() && (e.Year() < 1970 || e.After(time.Now().Add(maxExpiry+time.Minute))) {
			t.Fatalf("parseExpires(%q) = %v", v, e)
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
