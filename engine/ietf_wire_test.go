package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// wire records the protocol headers of every request the server sees.
type wire struct {
	mu   sync.Mutex
	reqs []wireReq
}

type wireReq struct {
	method string
	header http.Header
	n      int64 // body length
}

var protocolHeaders = []string{"Tus-Resumable", "Upload-Draft-Interop-Version", "Upload-Length", "Upload-Defer-Length",
	"Upload-Offset", "Upload-Complete", "Content-Type", "Content-Disposition", "Upload-Metadata"}

func (w *wire) fault() tusdtest.Fault {
	return func(_ http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		h := http.Header{}
		for _, k := range protocolHeaders {
			if v := r.Header.Get(k); v != "" {
				h.Set(k, v)
			}
		}
		w.mu.Lock()
		w.reqs = append(w.reqs, wireReq{r.Method, h, r.ContentLength})
		w.mu.Unlock()
		return false
	}
}

func (w *wire) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, r := range w.reqs {
		s := r.method
		for _, k := range protocolHeaders {
			if v := r.header.Get(k); v != "" {
				s += fmt.Sprintf(" %s: %s;", k, v)
			}
		}
		out = append(out, s)
	}
	return out
}

// TestWireBothDialects logs the requests of the same upload in each dialect (2.5
// chunks, paused after the first PATCH, resumed, then terminated) and compares them
// with what tus 1.0.0 and draft-ietf-httpbis-resumable-upload-05 prescribe.
func TestWireBothDialects(t *testing.T) {
	size := 2*testChunk + testChunk/2
	n, half := strconv.Itoa(size), strconv.Itoa(testChunk)
	want := map[string][]string{
		engine.ProtocolTus1: {
			"POST Tus-Resumable: 1.0.0; Upload-Length: " + n + "; Content-Type: application/offset+octet-stream; Upload-Metadata: filename YS5iaW4=;",
			"PATCH Tus-Resumable: 1.0.0; Upload-Offset: " + half + "; Content-Type: application/offset+octet-stream;",
			"HEAD Tus-Resumable: 1.0.0;",
			"PATCH Tus-Resumable: 1.0.0; Upload-Offset: " + strconv.Itoa(2*testChunk) + "; Content-Type: application/offset+octet-stream;",
			"DELETE Tus-Resumable: 1.0.0;",
		},
		// draft -05: creation is a POST with Upload-Complete (and Upload-Length when
		// known), appends are PATCHes of application/partial-upload naming their offset,
		// the last one with Upload-Complete: ?1; offset retrieval is HEAD, cancellation
		// DELETE; every request names interop version 6.
		draft: {
			"POST Upload-Draft-Interop-Version: 6; Upload-Length: " + n + "; Upload-Complete: ?0; Content-Disposition: attachment; filename=a.bin;",
			"PATCH Upload-Draft-Interop-Version: 6; Upload-Offset: " + half + "; Upload-Complete: ?0; Content-Type: application/partial-upload;",
			"HEAD Upload-Draft-Interop-Version: 6;",
			"PATCH Upload-Draft-Interop-Version: 6; Upload-Offset: " + strconv.Itoa(2*testChunk) + "; Upload-Complete: ?1; Content-Type: application/partial-upload;",
			"DELETE Upload-Draft-Interop-Version: 6;",
		},
	}
	for _, proto := range []string{engine.ProtocolTus1, draft} {
		t.Run(proto, func(t *testing.T) {
			srv, endpoint := newDraftTusd(t, tusdtest.Options{})
			var w wire
			srv.Inject(w.fault())
			data := randomBytes(size, 36)
			ctx, cancel := context.WithCancel(context.Background())
			var loc string
			c := &engine.Client{Endpoint: endpoint, Protocol: proto, ChunkSize: testChunk, FixedChunkSize: true,
				Metadata: map[string]string{"filename": "a.bin"}}
			ev := engine.Events{OnCreate: func(u string) { loc = u }, OnProgress: func(sent, _ int64) {
				if sent == 2*testChunk {
					cancel()
				}
			}}
			if _, err := run(ctx, c, engine.NewBytesFile("a.bin", data), ev); !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want the pause", err)
			}
			if _, err := c.Upload(context.Background(), engine.NewBytesFile("a.bin", data), engine.UploadURL{URL: loc, FromServer: true}); err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, loc, data)
			if err := c.Terminate(context.Background(), engine.UploadURL{URL: loc, FromServer: true}); err != nil {
				t.Fatal(err)
			}
			got := w.lines()
			for i, l := range got {
				t.Logf("%d %s", i+1, l)
			}
			// tus: Terminate asks first (HEAD) whether the upload is a final one with parts.
			if proto == engine.ProtocolTus1 && len(got) == 6 && got[4] == got[2] {
				got = append(got[:4], got[5])
			}
			if fmt.Sprint(got) != fmt.Sprint(want[proto]) {
				t.Errorf("requests differ from the protocol's; want\n%s", want[proto])
			}
		})
	}
}
