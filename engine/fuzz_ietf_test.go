package engine

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzUploadLimit: any Upload-Limit parses to sizes of -1 (none) or more, a minimum
// never above its maximum, and the limits it names survive being written back out.
func FuzzUploadLimit(f *testing.F) {
	for _, s := range []string{"min-size=0,max-size=1000", "max-append-size=100, min-append-size=10", "max-size=-5",
		"max-size=1.5", `max-size="7"`, "max-size=1;x=2, y", "max-size=1,", "MAX-SIZE=1", "max-size=1000000000000000",
		"min-size=9,max-size=3", "a=?1, b=:AQ==:, c=tok/en", "max-size=10 , ,min-size=1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		l, err := parseUploadLimit(v)
		if err != nil {
			return
		}
		sizes := []int64{l.maxSize, l.minSize, l.maxAppend, l.minAppend}
		for _, n := range sizes {
			if n < -1 {
				t.Fatalf("parseUploadLimit(%q) = %+v", v, l)
			}
		}
		if l.maxSize >= 0 && l.minSize > l.maxSize || l.maxAppend >= 0 && l.minAppend > l.maxAppend {
			t.Fatalf("parseUploadLimit(%q) = %+v: a minimum above its maximum", v, l)
		}
		var out []string
		for i, k := range []string{"max-size", "min-size", "max-append-size", "min-append-size"} {
			if sizes[i] >= 0 {
				out = append(out, fmt.Sprintf("%s=%d", k, sizes[i]))
			}
		}
		again, err := parseUploadLimit(strings.Join(out, ", "))
		if err != nil || again != l {
			t.Fatalf("parseUploadLimit(%q) = %+v; written back, %+v, %v", v, l, again, err)
		}
	})
}

// FuzzUploadComplete: only ?0 and ?1 (with parameters) are booleans, and what
// parses as true starts with ?1.
func FuzzUploadComplete(f *testing.F) {
	for _, s := range []string{"?0", "?1", " ?1 ", "?1;a=1", "?2", "1", "true", "?", "?1;", "?0;A=1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		b, err := parseBoolean(v)
		if err != nil {
			return
		}
		core := strings.Trim(v, " \t")
		if !strings.HasPrefix(core, sfBool(b)) || len(core) > 2 && core[2] != ';' {
			t.Fatalf("parseBoolean(%q) = %v", v, b)
		}
	})
}

// FuzzIETFHead: an accepted HEAD reply of the draft names an offset within the length
// it names, and a complete upload has its length.
func FuzzIETFHead(f *testing.F) {
	f.Add("0", "10", "?0", "max-size=10")
	f.Add("10", "", "?1", "")
	f.Add("5", "", "?0", "min-size=0")
	f.Add("5", "10", "?1", "")
	f.Add("x", "10", "?0", "")
	f.Add("3", "2", "maybe", "max-append-size=-1")
	f.Fuzz(func(t *testing.T, offset, length, complete, limit string) {
		h := http.Header{"Upload-Offset": {offset}, "Upload-Complete": {complete}, "Upload-Limit": {limit}}
		if length != "" {
			h.Set("Upload-Length", length)
		}
		u, _ := url.Parse("http://x/files/1")
		st, err := ietf{}.readHead(&reply{method: "HEAD", url: u, status: 204, header: h})
		if err != nil {
			return
		}
		done, _ := parseBoolean(complete)
		switch {
		case st.offset < 0, st.length >= 0 && st.offset > st.length && done,
			done && st.length != st.offset, st.deferred != (st.length < 0):
			t.Fatalf("readHead(%q, %q, %q) = %+v", offset, length, complete, st)
		}
	})
}
