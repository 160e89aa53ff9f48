package engine

import (
	"net/url"
	"strconv"
	"testing"
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
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("resolveLocation(%q) = %s", loc, u)
		}
	})
}
