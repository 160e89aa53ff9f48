package engine_test

// Reply shapes that could hold a call without RequestTimeout: none does.

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
)

// Reply shapes that might hold a call; each ends within a few seconds.
func TestNoHangs(t *testing.T) {
	cases := map[string]func(w http.ResponseWriter, r *http.Request) bool{
		// an error status before the body is read, then the handler holds the
		// connection (and the error body) open
		"early 500, body never read": func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodPatch {
				return false
			}
			w.Header().Set("Tus-Resumable", "1.0.0")
			w.WriteHeader(500)
			_, _ = w.Write([]byte("partial"))
			http.NewResponseController(w).Flush()
			select { // (the server cannot see the client leave before it reads the body)
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
			return true
		},
		// 101 Switching Protocols to a PATCH: Go treats it as terminal and hands back
		// the raw connection as the body
		"101 on PATCH": func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodPatch {
				return false
			}
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return true
			}
			_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\nTus-Resumable: 1.0.0\r\n\r\n")
			brw.Flush()
			time.Sleep(5 * time.Second)
			conn.Close()
			return true
		},
		// Content-Length promises more than is sent on an error reply
		"short error body": func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodPatch {
				return false
			}
			w.Header().Set("Tus-Resumable", "1.0.0")
			w.Header().Set("Content-Length", "100000")
			w.WriteHeader(503)
			_, _ = w.Write([]byte("x"))
			http.NewResponseController(w).Flush()
			select { // (the server cannot see the client leave before it reads the body)
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
			return true
		},
	}
	for name, fault := range cases {
		t.Run(name, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			srv.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool { return fault(w, r) })
			c := &engine.Client{Endpoint: endpoint, Retry: engine.Retry{MaxRetries: 1, InitialDelay: time.Millisecond}}
			start := time.Now()
			_, err := withDeadline(t, 15*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewBytesFile("h", randomBytes(4<<20, 98)))
			})
			t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
			if err == nil {
				t.Fatal("succeeded")
			}
		})
	}
}

// A source that can no longer be read (an *os.File closed under the upload, a disk
// read error) is FILE_CHANGED per README ("the file can no longer be read"), not a
// network error retried MaxRetries times.
func TestUnreadableFileIsFileChanged(t *testing.T) {
	srv, endpoint := newTusd(t)
	p := filepath.Join(t.TempDir(), "f.bin")
	data := randomBytes(2*testChunk, 99)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	fh.Close() // gone before the first PATCH
	c := &engine.Client{Endpoint: endpoint, ChunkSize: testChunk, Retry: fastRetry}
	_, err = c.CreateAndUpload(context.Background(), &engine.ReaderAtFile{R: fh, FileName: "f.bin", Length: int64(len(data))})
	t.Logf("%v (%d PATCHes)", err, srv.Count("PATCH"))
	if !errors.Is(err, engine.ErrFileChanged) {
		t.Fatalf("got %v (code %s) after %d PATCHes, want FILE_CHANGED", err, engine.Code(err), srv.Count("PATCH"))
	}
}
