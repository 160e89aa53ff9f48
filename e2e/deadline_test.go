package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// With no timeout option at all, a server that accepts a PATCH and never answers is
// given up on after the default deadline (30 s for a small body) and the request
// retried: the upload completes, byte-exact, in bounded time.
func TestDefaultDeadlineInBrowser(t *testing.T) {
	e := newEnv(t)
	const size = 4 * chunk
	h := holdNth(t, e.tusd, http.MethodPatch, 2, true) // answers only when the client gives up
	start := time.Now()
	startIn(e, e.tab, fmt.Sprintf(`bg('d', () => tus.createAndUpload(makeFile(%d, 140), {endpoint: '/files/', chunkSize: %d,
		adaptiveChunkSize: false, storage: false}))`, size, chunk))
	waitChan(t, "the PATCH that hangs", h.arrived)
	select {
	case <-h.aborted:
	case <-time.After(60 * time.Second):
		t.Fatal("the client did not give up on a hanging request within 60 s")
	}
	gaveUp := time.Since(start)
	r := e.waitDone("d").result(t)
	e.tusd.AssertStored(t, r.URL, pattern(size, 140))
	if gaveUp < 25*time.Second {
		t.Fatalf("gave up after %v: the default deadline is 30 s", gaveUp)
	}
	t.Logf("the hanging request was abandoned after %v; done after %v", gaveUp.Round(time.Second), time.Since(start).Round(time.Second))
}
