package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// The IETF draft dialect (Protocol: ietf-draft-05) against tusd with
// EnableExperimentalProtocol: the same transfer loop, other headers.

const draft = engine.ProtocolIETFDraft05

func newDraftTusd(t *testing.T, opts tusdtest.Options) (*tusdtest.Server, string) {
	t.Helper()
	opts.EnableExperimentalProtocol = true
	s := tusdtest.New(t, "", opts)
	return s, s.Start(t)
}

func TestIETFSizes(t *testing.T) {
	for _, withData := range []bool{true, false} {
		for _, size := range []int{0, 1, testChunk - 1, testChunk, testChunk + 1, 5*testChunk + 3} {
			t.Run(fmt.Sprintf("%d/data=%v", size, withData), func(t *testing.T) {
				srv, endpoint := newDraftTusd(t, tusdtest.Options{})
				var w wire
				srv.Inject(w.fault())
				data := randomBytes(size, uint64(size)+900)
				var progress progressLog
				c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, FixedChunkSize: true,
					DisableCreationWithUpload: !withData,
					Metadata:                  map[string]string{"filename": "naïve file.bin", "filetype": "application/x-test"}}
				res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
					return run(ctx, c, engine.NewBytesFile("a.bin", data), engine.Events{OnProgress: progress.record})
				})
				if err != nil {
					t.Fatal(err)
				}
				srv.AssertStored(t, res.URL, data)
				progress.check(t, int64(size))
				for _, r := range w.reqs {
					if r.header.Get("Upload-Draft-Interop-Version") != "6" || r.header.Get("Tus-Resumable") != "" {
						t.Errorf("%s without the draft's version header, or with tus's: %v", r.method, r.header)
					}
				}
				if md := srv.Metadata(t, res.URL); md["filename"] != "naïve file.bin" || md["filetype"] != "application/x-test" {
					t.Errorf("tusd stored metadata %v", md)
				}
				patches := (size + testChunk - 1) / testChunk
				if withData {
					patches = max(patches-1, 0)
				}
				if got := srv.Count(http.MethodPatch); got != patches || srv.Count(http.MethodPost) != 1 {
					t.Errorf("%d POST and %d PATCH, want 1 and %d", srv.Count(http.MethodPost), got, patches)
				}
				last := w.reqs[len(w.reqs)-1]
				if last.header.Get("Upload-Complete") != "?1" {
					t.Errorf("last request %s says Upload-Complete %q, want ?1", last.method, last.header.Get("Upload-Complete"))
				}
			})
		}
	}
}

func TestIETF64MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB")
	}
	srv, endpoint := newDraftTusd(t, tusdtest.Options{})
	f := patternFile{size: 64 << 20}
	c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: 8 << 20}
	res, err := withDeadline(t, 60*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, f)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, sum := srv.StoredSum(t, res.URL); n != f.size || sum != f.sum() {
		t.Fatalf("stored %d bytes sha256 %s, want %d %s", n, sum[:16], f.size, f.sum()[:16])
	}
}

func TestIETFRecovers(t *testing.T) {
	cases := []struct {
		name  string
		fault tusdtest.Fault
	}{
		{"5xx burst", tusdtest.Respond(tusdtest.Nth("PATCH", 2, 3, 4), 503, http.Header{"Retry-After": {"0"}}, "busy")},
		{"409 mismatch", tusdtest.Respond(tusdtest.Nth("PATCH", 2, 3), http.StatusConflict, nil, "ERR_MISMATCHED_OFFSET: mismatch")},
		{"tusd interrupted", tusdtest.Respond(tusdtest.Nth("PATCH", 2), http.StatusBadRequest, nil, "ERR_UPLOAD_INTERRUPTED: upload has been interrupted")},
		{"reset mid-body", tusdtest.Truncate(tusdtest.Nth("PATCH", 2, 4), 1000, true)},
		{"partial acceptance", tusdtest.Truncate(tusdtest.Nth("PATCH", 1, 3), 5000, false)},
		{"POST fails", tusdtest.Respond(tusdtest.Nth("POST", 1, 2), 503, nil, "")},
		{"last PATCH reset", tusdtest.Truncate(tusdtest.Nth("PATCH", 5), 10, true)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, endpoint := newDraftTusd(t, tusdtest.Options{})
			srv.Inject(tc.fault)
			data := randomBytes(5*testChunk+1, 31)
			c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, Retry: fastRetry}
			res, err := withDeadline(t, 20*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewBytesFile("f", data))
			})
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			// Bodies a fault answered itself are counted too (up to three chunks here).
			if sent := srv.BodyBytes.Load(); sent > int64(len(data))+5*testChunk {
				t.Fatalf("sent %d bytes for %d", sent, len(data))
			}
		})
	}
}

// Pause (cancel), then resume from Store as after a reload: one HEAD, the rest sent.
func TestIETFPauseResumeFromStore(t *testing.T) {
	srv, endpoint := newDraftTusd(t, tusdtest.Options{})
	data := randomBytes(6*testChunk+5, 32)
	c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, FixedChunkSize: true, Store: engine.NewMemoryStore()}
	pauseAt(t, c, engine.NewBytesFile("p", data), 2*testChunk)
	res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
		return c.CreateAndUpload(ctx, engine.NewBytesFile("p", data))
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || srv.Count(http.MethodPost) != 1 || srv.Count(http.MethodHead) != 1 {
		t.Fatalf("resumed %v with %d POST and %d HEAD, want a resume: 1 and 1", res.Resumed, srv.Count(http.MethodPost), srv.Count(http.MethodHead))
	}
	srv.AssertStored(t, res.URL, data)
	if extra := srv.BodyBytes.Load() - int64(len(data)); extra > testChunk {
		t.Fatalf("%d bytes re-sent", extra)
	}
}

// A stream of unknown length: created without Upload-Length, ended by the last
// append's Upload-Complete: ?1 (the draft has no Upload-Defer-Length).
func TestIETFStreams(t *testing.T) {
	for _, size := range []int{0, testChunk, 5*testChunk + 7} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			srv, endpoint := newDraftTusd(t, tusdtest.Options{})
			var w wire
			srv.Inject(w.fault())
			data := randomBytes(size, uint64(size)+970)
			c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, FixedChunkSize: true}
			res, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				return c.CreateAndUpload(ctx, engine.NewReaderStream("s", iotestHalfReader(data)))
			})
			if err != nil {
				t.Fatal(err)
			}
			srv.AssertStored(t, res.URL, data)
			post := w.reqs[0]
			if want := size > testChunk; (post.header.Get("Upload-Length") == "") != want {
				t.Errorf("POST %v: a length is sent exactly when the stream ended in the first chunk", post.header)
			}
			if last := w.reqs[len(w.reqs)-1]; last.header.Get("Upload-Complete") != "?1" {
				t.Errorf("last request %v lacks Upload-Complete: ?1", last.header)
			}
		})
	}
}
