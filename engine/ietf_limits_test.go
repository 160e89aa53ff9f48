package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// limitServer adds members to the Upload-Limit tusd sends (it names only min-size and
// max-size), as a server with per-request limits would, and records PATCH sizes.
func limitServer(t *testing.T, extra string) (*tusdtest.Server, string, *[]int64) {
	srv, endpoint := newDraftTusd(t, tusdtest.Options{})
	var mu sync.Mutex
	var sizes []int64
	srv.Inject(func(_ http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method == http.MethodPatch || r.Method == http.MethodPost {
			mu.Lock()
			sizes = append(sizes, r.ContentLength)
			mu.Unlock()
		}
		return false
	})
	srv.Inject(tusdtest.Rewrite(func(r *http.Request) bool { return r.Method != http.MethodPatch }, func(_ *int, h http.Header) {
		if v := h.Get("Upload-Limit"); v != "" {
			h.Set("Upload-Limit", v+", "+extra)
		}
	}))
	return srv, endpoint, &sizes
}

func TestIETFUploadLimitBoundsChunks(t *testing.T) {
	data := randomBytes(10*testChunk, 33)
	t.Run("max-append-size", func(t *testing.T) {
		srv, endpoint, sizes := limitServer(t, "max-append-size=50000")
		c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: 4 * testChunk, DisableCreationWithUpload: true}
		res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("l", data))
		if err != nil {
			t.Fatal(err)
		}
		srv.AssertStored(t, res.URL, data)
		for _, n := range *sizes {
			if n > 50000 {
				t.Fatalf("a request of %d bytes, above max-append-size 50000: %v", n, *sizes)
			}
		}
	})
	t.Run("min-append-size", func(t *testing.T) {
		srv, endpoint, sizes := limitServer(t, "min-append-size=200000")
		c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, CheckServerCapabilities: true}
		res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("l", data))
		if err != nil {
			t.Fatal(err)
		}
		srv.AssertStored(t, res.URL, data)
		s := *sizes
		for _, n := range s[:len(s)-1] {
			if n < 200000 {
				t.Fatalf("a request of %d bytes below min-append-size 200000: %v", n, s)
			}
		}
	})
}

// tusd in draft mode does not refuse a creation above MaxSize (its tus 1.0.0 POST
// does); it names max-size in Upload-Limit, and the client fails with TOO_LARGE: before
// any request with OPTIONS, else after the POST, deleting that upload.
func TestIETFTooLarge(t *testing.T) {
	for _, check := range []bool{true, false} {
		t.Run(fmt.Sprint("options=", check), func(t *testing.T) {
			srv, endpoint := newDraftTusd(t, tusdtest.Options{MaxSize: 1000})
			c := &engine.Client{Endpoint: endpoint, Protocol: draft, CheckServerCapabilities: check, DisableCreationWithUpload: true}
			_, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("big", randomBytes(1001, 34)))
			if !errors.Is(err, engine.ErrTooLarge) || engine.Code(err) != "TOO_LARGE" {
				t.Fatalf("got %v, want TOO_LARGE", err)
			}
			posts, deletes := srv.Count(http.MethodPost), srv.Count(http.MethodDelete)
			if check && posts != 0 || !check && (posts != 1 || deletes != 1) || srv.Count(http.MethodPatch) != 0 {
				t.Fatalf("requests %v", srv.Requests())
			}
			t.Log(err)
		})
	}
}

func TestIETFRefusesWhatTheDraftLacks(t *testing.T) {
	srv, endpoint := newDraftTusd(t, tusdtest.Options{})
	f := engine.NewBytesFile("x", randomBytes(10, 35))
	for name, c := range map[string]engine.Client{
		"parallelUploads":    {ParallelUploads: 2},
		"parallelBoundaries": {ParallelBoundaries: []engine.Part{{Start: 0, End: 5}, {Start: 5, End: 10}}},
		"checksum":           {Checksum: "sha256"},
		"other metadata":     {Metadata: map[string]string{"filename": "a", "owner": "b"}},
		"bad filetype":       {Metadata: map[string]string{"filetype": "not a type"}},
		"unknown protocol":   {Protocol: "ietf-draft-99"},
	} {
		if c.Protocol == "" {
			c.Protocol = draft
		}
		c.Endpoint = endpoint
		if _, err := c.CreateAndUpload(context.Background(), f); !errors.Is(err, engine.ErrInvalidOption) {
			t.Errorf("%s: got %v, want INVALID_OPTION", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

// The hostile-server table in the draft dialect, less what only tus has
// (Tus-Resumable, and 201/204 where the draft takes any 2xx), plus the draft's own
// lies: an Upload-Complete that is no boolean, or that claims an unfinished upload.
func TestIETFBrokenServers(t *testing.T) {
	byMethod := func(_, m string) func(*http.Request) bool {
		return func(r *http.Request) bool { return m == "" || r.Method == m }
	}
	cases := tusdtest.HostileCases(byMethod)
	onHead := func(name, value string) tusdtest.Fault {
		return tusdtest.Rewrite(method(http.MethodHead), setHeader(name, value))
	}
	cases = append(cases,
		tusdtest.HostileCase{Name: "Upload-Complete not a boolean", Fault: onHead("Upload-Complete", "yes"), Code: "PROTOCOL", Resume: true},
		tusdtest.HostileCase{Name: "Upload-Complete ?1 too early", Fault: tusdtest.Rewrite(method(http.MethodHead), func(_ *int, h http.Header) {
			h.Set("Upload-Complete", "?1")
			h.Set("Upload-Offset", "10")
		}), Code: "PROTOCOL", Resume: true},
		tusdtest.HostileCase{Name: "HEAD without Upload-Offset", Fault: onHead("Upload-Offset", ""), Code: "PROTOCOL", Resume: true},
	)
	for _, tc := range cases {
		switch tc.Name {
		case "no Tus-Resumable", "Tus-Resumable 0.2.2":
			continue
		}
		if tc.Side == tusdtest.BrowserOnly {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			data := randomBytes(2*testChunk, 37)
			srv, endpoint := newDraftTusd(t, tusdtest.Options{})
			srv.Inject(tc.Fault)
			c := &engine.Client{Endpoint: endpoint, Protocol: draft, ChunkSize: testChunk, Retry: fastRetry}
			_, err := withDeadline(t, 10*time.Second, func(ctx context.Context) (engine.Result, error) {
				res, err := c.CreateAndUpload(ctx, engine.NewBytesFile("b", data))
				if err == nil && tc.Resume {
					_, err = c.Upload(ctx, engine.NewBytesFile("b", data), engine.UploadURL{URL: res.URL})
				}
				return res, err
			})
			if got := engine.Code(err); err == nil || got != tc.Code {
				t.Fatalf("got %s (%v), want %s", got, err, tc.Code)
			}
			if n := len(srv.Requests()); n > 2*(fastRetry.MaxRetries+2) {
				t.Fatalf("%d requests: retried a hopeless server", n)
			}
			t.Log(err)
		})
	}
}
