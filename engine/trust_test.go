package engine_test

// Trust: which origins get the caller's headers, hooks and credentials, and what
// a server-given URL, a stored entry or a Location may and may not change about it.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

// Headers that no HTTP stack will send (a name that is not an RFC 9110 token, a value
// with a control character) are bad options: refused before any request, as CR/LF
// are, not sent, failed as NETWORK and retried.
func TestInvalidHeadersRefusedBeforeSending(t *testing.T) {
	cases := map[string]http.Header{
		"name with (":      {"X-(A)": {"1"}},
		"non-ASCII name":   {"X-Ä": {"1"}},
		"name with tab":    {"X\tA": {"1"}},
		"value with \\x01": {"X-A": {"a\x01b"}},
		"value with DEL":   {"X-A": {"a\x7fb"}},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			srv, endpoint := newTusd(t)
			for _, viaFunc := range []bool{false, true} {
				c := &engine.Client{Endpoint: endpoint, Retry: fastRetry}
				if viaFunc {
					c.HeadersFunc = func(context.Context) (http.Header, error) { return h, nil }
				} else {
					c.Headers = h
				}
				_, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("h", []byte("x")))
				if !errors.Is(err, engine.ErrInvalidOption) {
					t.Errorf("HeadersFunc=%v: got %v (code %s), want INVALID_OPTION", viaFunc, err, engine.Code(err))
				}
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests reached the server", n)
			}
		})
	}
}

// A Lock hook that reports success with a nil release must not crash the caller.
func TestLockNilReleaseNoPanic(t *testing.T) {
	_, endpoint := newTusd(t)
	c := &engine.Client{Endpoint: endpoint,
		Lock: func(context.Context, string) (func(), error) { return nil, nil }}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("CreateAndUpload panicked: %v", r)
		}
	}()
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("l", []byte("x"))); err != nil {
		t.Fatal(err)
	}
}

// Trust holds in every path: the secret header, the hooks and credentials stay on
// configured origins through server Locations on look-alike origins
// (other port, other scheme, other spelling of the host, protocol-relative), Store
// entries, OnExpired recreation, Terminate of a server-given URL, capabilities checks
// and redirects.
func TestTrustHolds(t *testing.T) {
	foreign, foreignEndpoint := newTusd(t)
	var leaks atomic.Int32
	foreign.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Header.Get("Authorization") != "" {
			leaks.Add(1)
		}
		return false
	})
	srv, endpoint := newTusd(t)
	eu, _ := url.Parse(endpoint)
	fu, _ := url.Parse(foreignEndpoint)
	_, fport, _ := strings.Cut(fu.Host, ":")
	var hookedForeign atomic.Int32
	newClient := func() *engine.Client {
		return &engine.Client{Endpoint: endpoint, Retry: fastRetry, ChunkSize: testChunk,
			Headers: http.Header{"Authorization": {"Bearer secret"}},
			BeforeRequest: func(r *http.Request) error {
				if r.URL.Host != eu.Host {
					hookedForeign.Add(1)
				}
				return nil
			},
			AfterResponse: func(r *http.Request, _ *http.Response) error {
				if r.URL.Host != eu.Host {
					hookedForeign.Add(1)
				}
				return nil
			},
			Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if engine.RequestCredentials(r) != engine.CredentialsOmit && r.URL.Host != eu.Host {
					return nil, fmt.Errorf("credentials for %s", r.URL)
				}
				return http.DefaultTransport.RoundTrip(r)
			}),
		}
	}
	data := randomBytes(testChunk+7, 80)
	ctx := context.Background()

	// Locations pointing at the foreign server under various spellings.
	for _, loc := range []string{
		"http://localhost:" + fport + "/files/",
		"//localhost:" + fport + "/files/",
		"HTTP://LOCALHOST:" + fport + "/files/",
		"http://127.0.0.1:" + fport + "/files/",
		"http://[::ffff:127.0.0.1]:" + fport + "/files/",
	} {
		var made sync.Once
		var target string
		srv2, ep2 := newTusd(t)
		srv2.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if r.Method != http.MethodPost {
				return false
			}
			made.Do(func() {
				// create the upload on the foreign server, then point at it with loc's spelling
				u, err := (&engine.Client{Endpoint: foreignEndpoint}).Create(ctx, engine.NewBytesFile("x", data))
				if err != nil {
					t.Error(err)
					return
				}
				target = loc + strings.TrimPrefix(u, foreignEndpoint)
			})
			return reply(w, r, 201, "Location", target)
		})
		c := newClient()
		c.Endpoint = ep2
		eu, _ = url.Parse(ep2)
		if _, err := c.CreateAndUpload(ctx, engine.NewBytesFile("x", data)); err != nil {
			t.Logf("Location %s: %v", loc, err)
		}
	}
	eu, _ = url.Parse(endpoint)

	// A Store entry on the foreign origin; OnExpired recreate; Terminate FromServer;
	// capabilities for a server-given URL.
	c := newClient()
	store := engine.NewMemoryStore()
	c.Store, c.OnExpired, c.CheckServerCapabilities = store, engine.ExpiredRecreate, true
	fp, _ := c.Fingerprint(ctx, engine.NewBytesFile("s", data))
	_ = store.Put(ctx, engine.StoredUpload{Fingerprint: fp, URL: foreignEndpoint + "zzz", Size: int64(len(data))})
	res, err := c.CreateAndUpload(ctx, engine.NewBytesFile("s", data))
	if err != nil {
		t.Fatal(err)
	}
	srv.AssertStored(t, res.URL, data)
	fURL, err := (&engine.Client{Endpoint: foreignEndpoint}).Create(ctx, engine.NewBytesFile("f", data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Upload(ctx, engine.NewBytesFile("f", data), engine.UploadURL{URL: fURL, FromServer: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Terminate(ctx, engine.UploadURL{URL: fURL, FromServer: true}); err != nil {
		t.Fatal(err)
	}
	// Expired server-given URL: recreated at the endpoint.
	if _, err := c.Upload(ctx, engine.NewBytesFile("f", data), engine.UploadURL{URL: fURL, FromServer: true}); err != nil {
		t.Fatal(err)
	}
	if n := leaks.Load(); n != 0 {
		t.Fatalf("Authorization reached the foreign origin %d times", n)
	}
	if n := hookedForeign.Load(); n != 0 {
		t.Fatalf("hooks saw %d foreign requests", n)
	}
}

// A redirect is a reply from a trusted origin, yet AfterResponse ("sees each reply
// from a trusted origin") never sees it.
func TestAfterResponseSeesRedirect(t *testing.T) {
	srv, endpoint := newTusd(t)
	srv.Inject(tusdtest.Respond(method("POST"), http.StatusTemporaryRedirect, http.Header{"Location": {"/elsewhere"}}, ""))
	var seen []int
	c := &engine.Client{Endpoint: endpoint, Retry: fastRetry,
		AfterResponse: func(_ *http.Request, r *http.Response) error { seen = append(seen, r.StatusCode); return nil }}
	_, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("r", []byte("x")))
	if !errors.Is(err, engine.ErrRedirect) {
		t.Fatalf("got %v", err)
	}
	if len(seen) != 1 {
		t.Fatalf("AfterResponse saw %v, want the 307", seen)
	}
}

// Uploads that live on another origin than the endpoint: a stored URL there would be
// refused on the next call (storage is not trusted input), so none is stored and no
// orphan is left behind; with that origin in AllowedOrigins the upload is stored and a
// "reload" resumes it.
func TestCrossOriginStorage(t *testing.T) {
	storage, storageEndpoint := newTusd(t)
	_, apiEndpoint := newAPI(t, storageEndpoint)
	data := randomBytes(4*testChunk, 81)
	for _, allowed := range []bool{false, true} {
		store := engine.NewMemoryStore()
		ctx, cancel := context.WithCancel(context.Background())
		c := &engine.Client{Endpoint: apiEndpoint, Store: store, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry}
		ev := engine.Events{OnProgress: func(sent, _ int64) {
			if sent >= 3*testChunk {
				cancel() // "reload"
			}
		}}
		if allowed {
			c.AllowedOrigins = []string{storageEndpoint}
		}
		if _, err := run(ctx, c, engine.NewBytesFile("x.bin", data), ev); engine.Code(err) != engine.CodeAborted {
			t.Fatalf("got %v", err)
		}
		if l, _ := store.List(context.Background()); len(l) != map[bool]int{false: 0, true: 1}[allowed] {
			t.Fatalf("allowed %v: stored %+v", allowed, l)
		}
		res, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("x.bin", data))
		if err != nil {
			t.Fatal(err)
		}
		storage.AssertStored(t, res.URL, data)
		if res.Resumed != allowed {
			t.Fatalf("allowed %v: resumed %v", allowed, res.Resumed)
		}
	}
}

// 1. A URL a server gave keeps the server's trust rules when the caller hands it back
// (Upload's pause and resume): the headers stay with the configured origins.
func TestServerGivenURLKeepsServerTrust(t *testing.T) {
	storage, storageEndpoint := newTusd(t)
	var sawAuth atomic.Int32
	storage.Inject(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Header.Get("Authorization") != "" {
			sawAuth.Add(1)
		}
		return false
	})
	_, apiEndpoint := newAPI(t, storageEndpoint)
	data := randomBytes(4*testChunk, 40)
	ctx, cancel := context.WithCancel(context.Background())
	var loc string
	c := &engine.Client{Endpoint: apiEndpoint, ChunkSize: testChunk, FixedChunkSize: true, Retry: fastRetry,
		Headers: http.Header{"Authorization": {"Bearer secret"}}}
	ev := engine.Events{OnUploadURL: func(u string) { loc = u }, OnProgress: func(sent, _ int64) {
		if sent >= testChunk {
			cancel() // pause
		}
	}}
	if _, err := run(ctx, c, engine.NewBytesFile("t", data), ev); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the pause", err)
	}
	if !strings.HasPrefix(loc, storageEndpoint) {
		t.Fatalf("upload at %q, not on the storage origin", loc)
	}
	res, err := c.Upload(context.Background(), engine.NewBytesFile("t", data), engine.UploadURL{URL: loc, FromServer: true})
	if err != nil {
		t.Fatal(err)
	}
	storage.AssertStored(t, res.URL, data)
	if n := sawAuth.Load(); n != 0 {
		t.Fatalf("the storage origin received Authorization %d times", n)
	}
	// The same URL written by the caller is the caller's choice of origin.
	if _, err := c.Upload(context.Background(), engine.NewBytesFile("t", data), engine.UploadURL{URL: loc}); err != nil {
		t.Fatal(err)
	}
	if sawAuth.Load() == 0 {
		t.Fatal("a caller-written upload URL did not receive the headers")
	}
}

// 2. Credentials in a Location are a protocol violation, never stored.
func TestLocationWithCredentialsRefused(t *testing.T) {
	srv, endpoint := newTusd(t)
	u, _ := url.Parse(endpoint)
	srv.Inject(tusdtest.Rewrite(method("POST"), setHeader("Location", "http://user:pw@"+u.Host+"/files/x")))
	store := engine.NewMemoryStore()
	c := &engine.Client{Endpoint: endpoint, Store: store, Retry: fastRetry}
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("u", []byte("x"))); !errors.Is(err, engine.ErrProtocol) {
		t.Fatalf("got %v, want ErrProtocol", err)
	}
	if l, _ := store.List(context.Background()); len(l) != 0 {
		t.Fatalf("stored %+v", l)
	}
	c.Endpoint = "http://user:pw@" + u.Host + "/files/"
	if _, err := c.CreateAndUpload(context.Background(), engine.NewBytesFile("u", []byte("x"))); !errors.Is(err, engine.ErrInvalidOption) {
		t.Fatalf("endpoint with credentials: got %v, want ErrInvalidOption", err)
	}
}
