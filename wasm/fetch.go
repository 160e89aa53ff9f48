//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/tuswasm/tuswasm/engine"
)

var (
	jsAbortController = safejs.MustGetGlobal("AbortController")
	jsAbortSignal     = safejs.MustGetGlobal("AbortSignal")
	jsArray           = safejs.MustGetGlobal("Array")
	// jsSend is core.js's send(url, method, headers, body, credentials, signal): fetch
	// with one crossing out and one Promise back.
	jsSend safejs.Value
	// jsMakeError is the host's makeError: what a rejection object becomes for the caller's hooks.
	jsMakeError safejs.Value
	// jsDigest is core.js's digest(blob, algorithm): SubtleCrypto, or null.
	jsDigest safejs.Value
	// jsHostStorage is host.js's storage(kind): a storage adapter, or null.
	jsHostStorage safejs.Value
	// jsLock is core.js's lock(name, wait, signal): a Web Lock's release function, or
	// null when it is held elsewhere.
	jsLock safejs.Value
	// wholeFiles is core.js's wholeFiles: the host reads a File no further than the size
	// it had when picked and fails a fetch of one changed on disk, so a Blob sent whole
	// may go as itself (see blobFile.ReadSection) and needs no watch (watchBlob).
	wholeFiles bool
)

// takeHost picks up what core.js leaves in globalThis.__tuswasm.host before it starts
// the Go program.
func takeHost() error {
	host, err := safejs.Global().Get("__tuswasm")
	if err == nil {
		host, err = host.Get("host")
	}
	if err == nil {
		jsSend, err = host.Get("send")
	}
	for name, to := range map[string]*safejs.Value{"error": &jsMakeError, "stream": &jsStreamSource, "holder": &jsHolder, "digest": &jsDigest, "storage": &jsHostStorage, "lock": &jsLock} {
		if err == nil {
			*to, err = host.Get(name)
		}
		if err == nil && !isFunction(*to) {
			err = fmt.Errorf("no %s function", name)
		}
	}
	if err == nil && !isFunction(jsSend) {
		err = errors.New("no send function")
	}
	if err == nil {
		whole, _ := host.Get("wholeFiles")
		wholeFiles, _ = whole.Bool()
	}
	if err != nil {
		return fmt.Errorf("tuswasm: start the module through core.js: %w", err)
	}
	return nil
}

// maxReplyBody bounds what is read of a reply body: the engine needs a short error
// snippet, and a hostile server must not fill memory.
const maxReplyBody = 64 << 10

// fetchTransport sends every request with the browser's fetch. A PATCH body that is a
// blobSection goes as the Blob slice itself: Chromium streams it from disk ~4x faster
// than a byte array, and wasm memory stays flat. It replaces Go's own fetch transport
// (http.DefaultTransport), which would link Go's whole client stack into the binary
// and costs more Go<->JS crossings per request. It is mechanism only, as a
// RoundTripper should be: it follows no redirect (fetch's redirect: "manual") and
// sends the credentials mode the engine decided for each request.
type fetchTransport struct {
	gc gcPacer
}

func (t *fetchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	body, sec, err := requestBody(req)
	if err != nil {
		return nil, err
	}
	if sec != nil {
		defer sec.Close()
		// JS objects a request touched are released only by Go finalizers, and Go's
		// heap is too small to collect often on its own.
		defer t.gc.maybe()
	}
	var hdr strings.Builder
	for k, vs := range req.Header {
		if strings.EqualFold(k, "Content-Length") {
			continue // fetch sets it from the body
		}
		for _, v := range vs { // send's list is newline-separated: the engine allows no CR or LF in one
			hdr.WriteString(k)
			hdr.WriteByte('\n')
			hdr.WriteString(v)
			hdr.WriteByte('\n')
		}
	}
	ac, err := jsAbortController.New()
	if err != nil {
		return nil, err
	}
	signal, err := ac.Get("signal")
	if err != nil {
		return nil, err
	}
	// Abort the fetch when the request's context ends (pause, timeout).
	stop := context.AfterFunc(ctx, func() { _, _ = ac.Call("abort") })
	defer stop()

	p, err := jsSend.Invoke(req.URL.String(), req.Method, hdr.String(), body, engine.RequestCredentials(req), signal)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	// The fetch is awaited to its end even when ctx ends (the abort settles it), unless
	// its Blob turns out unreadable (watchBlob).
	wait, stopWait := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopWait(nil)
	if sec != nil && !wholeFiles { // where the host vouches (Chromium, Node), such a fetch fails by itself
		go watchBlob(ctx, wait, sec, func(changed error) {
			stopWait(changed)
			_, _ = ac.Call("abort")
		})
	}
	reply, err := await(wait, p)
	if err != nil {
		if changed := context.Cause(wait); errors.Is(changed, engine.ErrFileChanged) {
			return nil, fmt.Errorf("fetch %s %s: %w", req.Method, req.URL, changed)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("fetch %s %s: %w", req.Method, req.URL, err)
	}
	resp, err := goResponse(req, reply)
	if err == nil && resp.StatusCode < 400 && sec != nil {
		// The bytes just sent may be of another version of the file than those before
		// (the engine's Readable check then names the failure FILE_CHANGED).
		if err := sec.unchanged(ctx); errors.Is(err, engine.ErrFileChanged) {
			resp.Body.Close()
			return nil, err
		}
	}
	return resp, err
}

// blobWatchEvery is how often a request's Blob body is checked while the request is
// pending: long enough that requests which end sooner (small files, chunks on a fast
// link) never pay for a check.
const blobWatchEvery = time.Second

// watchBlob checks sec's Blob every blobWatchEvery until wait ends, and calls changed
// once it can no longer be read. WebKitGTK 2.50 does not fail a fetch whose Blob body
// is a File changed on disk: it sends the headers, never a byte of the body, and waits
// until aborted (the request's deadline, 30 s at least), while a read of the same Blob
// rejects at once with NotFoundError. Chromium fails such a fetch at once (and is not
// watched: see wholeFiles) and Firefox sends the new bytes; a check costs a 1-byte read.
func watchBlob(ctx, wait context.Context, sec *blobSection, changed func(error)) {
	t := time.NewTicker(blobWatchEvery)
	defer t.Stop()
	for {
		select {
		case <-wait.Done():
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := sec.Readable(ctx); errors.Is(err, engine.ErrFileChanged) {
			changed(err)
			return
		}
	}
}

// requestBody is the fetch body for req: null, the Blob slice of a blobSection (also
// returned), or the bytes of any other reader (which closes it, as RoundTrip must).
func requestBody(req *http.Request) (safejs.Value, *blobSection, error) {
	switch b := req.Body.(type) {
	case nil:
		return safejs.Null(), nil, nil
	case *blobSection:
		if b.typed && req.Header.Get("Content-Type") == "" {
			// fetch would send the Blob's own type as the request's Content-Type (an IETF
			// draft creation without a filetype); a slice has none.
			whole, err := b.slice.Call("slice")
			return whole, b, err
		}
		return b.slice, b, nil
	}
	defer req.Body.Close()
	if req.Body == http.NoBody {
		return safejs.Null(), nil, nil
	}
	data, err := io.ReadAll(req.Body)
	if err != nil {
		return safejs.Null(), nil, fmt.Errorf("reading the request body: %w", err)
	}
	u8, err := jsUint8Array.New(len(data))
	if err == nil {
		_, err = safejs.CopyBytesToJS(u8, data)
	}
	return u8, nil, err
}

// goResponse converts send's [status, type, headers, body]. The body reader is bounded
// by maxReplyBody.
func goResponse(req *http.Request, reply safejs.Value) (*http.Response, error) {
	part := func(i int) safejs.Value { v, _ := reply.Index(i); return v }
	status, err := part(0).Int()
	if err != nil {
		return nil, fmt.Errorf("fetch reply status: %w", err)
	}
	if typ, _ := part(1).String(); typ == "opaqueredirect" {
		status = http.StatusFound // a redirect whose status and target fetch hides
	}
	h := http.Header{}
	text, _ := part(2).String()
	for text != "" {
		var k, v string
		k, text, _ = strings.Cut(text, "\n")
		v, text, _ = strings.Cut(text, "\n")
		h.Add(k, v)
	}
	body := io.ReadCloser(http.NoBody)
	if b := part(3); !isNullish(b) {
		if reader, err := b.Call("getReader"); err == nil {
			body = &streamBody{ctx: req.Context(), reader: reader, left: maxReplyBody}
		}
	}
	return &http.Response{
		Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode: status,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        h,
		Body:          body,
		ContentLength: -1,
		Request:       req,
	}, nil
}

// streamBody reads a ReadableStream through its reader, at most left bytes.
type streamBody struct {
	ctx    context.Context
	reader safejs.Value
	buf    []byte
	left   int
	done   bool
}

func (b *streamBody) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		if b.done || b.left <= 0 {
			return 0, io.EOF
		}
		pr, err := b.reader.Call("read")
		if err != nil {
			return 0, err
		}
		res, err := await(b.ctx, pr)
		if err != nil {
			return 0, err
		}
		if done, _ := getBool(res, "done"); done {
			b.done = true
			return 0, io.EOF
		}
		chunk, err := res.Get("value")
		if err != nil {
			return 0, err
		}
		n, _ := chunk.Length()
		n = min(n, b.left)
		b.buf = make([]byte, n)
		if _, err := safejs.CopyBytesToGo(b.buf, chunk); err != nil {
			return 0, err
		}
		b.left -= n
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

func (b *streamBody) Close() error {
	if !b.done {
		b.done = true
		_, _ = b.reader.Call("cancel")
	}
	return nil
}
