package tusdtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tusd v2 lacks the checksum and expiration extensions. These handlers implement them
// in front of it, as the tus 1.0.0 protocol describes them, so the client's side of
// each can be tested against real tusd for everything else. Faults still run first:
// a fault that corrupts a body does so "in flight", before the server verifies it.

var checksumAlgorithms = map[string]func() hash.Hash{
	"sha1": sha1.New, "sha256": sha256.New, "sha384": sha512.New384, "sha512": sha512.New,
}

// VerifyChecksums makes the server implement the checksum extension: OPTIONS lists
// it with its algorithms, and a PATCH carrying Upload-Checksum is read whole and
// hashed; a mismatch is answered 460 and the chunk discarded (tusd never sees it), an
// unknown algorithm 400.
func (s *Server) VerifyChecksums() {
	next := s.next
	s.next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodOptions:
			next.ServeHTTP(&headerEdit{ResponseWriter: w, edit: func(h http.Header) {
				h.Set("Tus-Extension", h.Get("Tus-Extension")+",checksum")
				h.Set("Tus-Checksum-Algorithm", "sha1,sha256,sha384,sha512")
			}}, r)
			return
		case r.Method != http.MethodPatch || r.Header.Get("Upload-Checksum") == "":
			next.ServeHTTP(w, r)
			return
		}
		alg, sum, _ := strings.Cut(r.Header.Get("Upload-Checksum"), " ")
		newHash, ok := checksumAlgorithms[alg]
		want, err := base64.StdEncoding.DecodeString(sum)
		if !ok || err != nil {
			writeHead(w, r, http.StatusBadRequest, nil)
			_, _ = io.WriteString(w, "ERR_UNSUPPORTED_CHECKSUM_ALGORITHM: unsupported checksum algorithm")
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // the client went away mid-body: nothing to verify, nothing kept
		}
		h := newHash()
		h.Write(body)
		if !bytes.Equal(h.Sum(nil), want) {
			writeHead(w, r, 460, nil)
			_, _ = io.WriteString(w, "ERR_CHECKSUM_MISMATCH: checksum mismatch")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// Expiration makes the server implement the expiration extension: every upload
// expires ttl after its creation, by the clock now (tests move it); POST, PATCH and
// HEAD replies carry Upload-Expires, OPTIONS lists "expiration", and after expiry the
// upload answers 410 Gone.
func (s *Server) Expiration(ttl time.Duration, now func() time.Time) {
	next := s.next
	var mu sync.Mutex
	created := map[string]time.Time{} // upload id → creation time
	expires := func(id string) (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		c, ok := created[id]
		return c.Add(ttl), ok
	}
	s.next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := path.Base(r.URL.Path)
		switch r.Method {
		case http.MethodOptions:
			next.ServeHTTP(&headerEdit{ResponseWriter: w, edit: func(h http.Header) {
				h.Set("Tus-Extension", h.Get("Tus-Extension")+",expiration")
			}}, r)
		case http.MethodPost:
			at := now()
			next.ServeHTTP(&headerEdit{ResponseWriter: w, edit: func(h http.Header) {
				if loc := h.Get("Location"); loc != "" {
					mu.Lock()
					created[path.Base(loc)] = at
					mu.Unlock()
					h.Set("Upload-Expires", at.Add(ttl).UTC().Format(http.TimeFormat))
				}
			}}, r)
		case http.MethodHead, http.MethodPatch:
			t, ok := expires(id)
			if ok && !now().Before(t) {
				writeHead(w, r, http.StatusGone, nil)
				return
			}
			next.ServeHTTP(&headerEdit{ResponseWriter: w, edit: func(h http.Header) {
				if ok {
					h.Set("Upload-Expires", t.UTC().Format(http.TimeFormat))
				}
			}}, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// FlipByte corrupts one byte (the middle one) of the body of matching PATCHes on its
// way to the server, as a faulty link or middlebox would.
func FlipByte(match func(*http.Request) bool) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !match(r) || r.ContentLength <= 0 {
			return false
		}
		r.Body = &flipBody{ReadCloser: r.Body, at: r.ContentLength / 2}
		return false
	}
}

type flipBody struct {
	io.ReadCloser
	at, pos int64
}

func (b *flipBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.at >= b.pos && b.at < b.pos+int64(n) {
		p[b.at-b.pos] ^= 0xff
	}
	b.pos += int64(n)
	return n, err
}

// headerEdit lets a handler change the reply's headers just before they are sent.
type headerEdit struct {
	http.ResponseWriter
	edit  func(http.Header)
	wrote bool
}

func (w *headerEdit) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.edit(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *headerEdit) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *headerEdit) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Offset parses a request's Upload-Offset (0 when absent).
func Offset(r *http.Request) int64 {
	n, _ := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	return n
}
