//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/tuswasm/tuswasm/engine"
)

var (
	jsUint8Array  = safejs.MustGetGlobal("Uint8Array")
	jsBlob        = safejs.MustGetGlobal("Blob")
	jsFile        = safejs.MustGetGlobal("File")
	jsArrayBuffer = safejs.MustGetGlobal("ArrayBuffer")
)

// blobFile is an engine.File over a JS Blob or File. Its sections are Blob slices: the
// fetch transport sends them as they are, so chunk bytes stay out of wasm memory; only
// a Go reader of a section (another transport) pulls the bytes in.
type blobFile struct {
	blob    safejs.Value
	name    string
	size    int64
	modTime time.Time
	typed   bool        // the Blob has a type, which fetch would send as the Content-Type
	sample  *fileSample // where a changed File is not refused by the host (see filesample.go)

	mu   sync.Mutex
	next *blobSlice // made ahead of need (see prefetch)
}

// wrapHint names the wrapper for what Node.js programs pass by mistake (what
// tus-js-client takes there): bytes (a Buffer) and a stream.Readable.
func wrapHint(v safejs.Value) string {
	if v.Type() != safejs.TypeObject || v.IsNull() {
		return ""
	}
	if view, err := jsArrayBuffer.Call("isView", v); err == nil {
		if yes, _ := view.Bool(); yes {
			return " (bytes: pass new Blob([bytes]))"
		}
	}
	if ok, err := v.InstanceOf(jsArrayBuffer); err == nil && ok {
		return " (bytes: pass new Blob([bytes]))"
	}
	pipe, _ := v.Get("pipe")
	on, _ := v.Get("on")
	if isFunction(pipe) && isFunction(on) {
		return " (a Node.js stream.Readable: pass Readable.toWeb(stream))"
	}
	return ""
}

// blobSlice is a Blob slice made ahead of need (see prefetch).
type blobSlice struct {
	off, n int64
	slice  safejs.Value
}

func newBlobFile(v safejs.Value) (*blobFile, error) {
	if ok, err := v.InstanceOf(jsBlob); err != nil || !ok {
		return nil, badOption("the file must be a Blob, File or ReadableStream, not %s%s", describe(v), wrapHint(v))
	}
	sizeV, err := v.Get("size")
	if err != nil {
		return nil, err
	}
	size, err := sizeV.Float()
	if err != nil || size < 0 || size > math.MaxInt64/2 {
		return nil, badOption("the Blob's size %v is unusable", size)
	}
	f := &blobFile{blob: v, size: int64(size), name: "blob", sample: sampleFor(v)}
	if n, _ := getString(v, "name"); n != "" {
		f.name = n
	}
	if t, _ := getString(v, "type"); t != "" {
		f.typed = true
	}
	if ms, ok, _ := getNumber(v, "lastModified"); ok {
		f.modTime = time.UnixMilli(int64(ms))
	}
	return f, nil
}

func (f *blobFile) Name() string       { return f.name }
func (f *blobFile) Size() int64        { return f.size }
func (f *blobFile) ModTime() time.Time { return f.modTime }

func (f *blobFile) ReadSection(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	if off < 0 || n < 0 || off+n > f.size {
		return nil, fmt.Errorf("section [%d,%d) outside blob of %d bytes", off, off+n, f.size)
	}
	if off == 0 && n == f.size && wholeFiles {
		// The whole Blob goes as it is: a slice costs Chromium's main thread about
		// 1 ms, most of what a small file costs the page (the small-files bench).
		// Only where the host vouches that it is never read past its size: Firefox
		// reads a File that grew on disk to its new end.
		return &blobSection{slice: f.blob, n: n, ctx: ctx, typed: f.typed}, nil
	}
	if f.sample != nil {
		if err := f.sample.take(ctx, f); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	next := f.next
	f.next = nil
	f.mu.Unlock()
	slice := safejs.Undefined()
	if next != nil && next.off == off && next.n == n {
		slice = next.slice
	} else {
		var err error
		if slice, err = f.blob.Call("slice", float64(off), float64(off+n)); err != nil {
			return nil, fmt.Errorf("%w: Blob.slice: %w", engine.ErrFileChanged, err)
		}
	}
	go f.prefetch(off+n, n)
	return &blobSection{slice: slice, off: off, n: n, ctx: ctx, file: f}, nil
}

// prefetch makes the slice the engine will most likely ask for next, the same length
// from off, in a goroutine that runs once the caller blocks: when the section's
// request is in flight. Blob.slice costs Chromium's main thread 0.5-1 ms, which would
// otherwise sit between one reply and the next request. A miss (the chunk size
// changed, a request failed) costs only that slice.
func (f *blobFile) prefetch(off, n int64) {
	if off >= f.size {
		return
	}
	n = min(n, f.size-off)
	if slice, err := f.blob.Call("slice", float64(off), float64(off+n)); err == nil {
		f.mu.Lock()
		f.next = &blobSlice{off: off, n: n, slice: slice}
		f.mu.Unlock()
	}
}

// blobSection is one request's bytes as a Blob (a File's slice, or a stream's chunks).
// The fetch transport recognises it and sends the Blob itself; reading it from Go
// (another transport, or hashing without SubtleCrypto) pulls the bytes in.
type blobSection struct {
	slice safejs.Value
	off   int64
	n     int64
	typed bool      // slice is a whole Blob with a type (see requestBody)
	file  *blobFile // the File it is a slice of, when its sample is to be checked
	ctx   context.Context
	data  []byte // loaded on first Read
	pos   int
	read  bool
}

func (s *blobSection) Read(p []byte) (int, error) {
	if !s.read {
		s.read = true
		if err := s.load(); err != nil {
			return 0, err
		}
	}
	if s.pos >= len(s.data) {
		return 0, io.EOF
	}
	n := copy(p, s.data[s.pos:])
	s.pos += n
	return n, nil
}

func (s *blobSection) load() error {
	ab, err := s.slice.Call("arrayBuffer")
	if err == nil {
		ab, err = await(s.ctx, ab)
	}
	if err != nil {
		return readError(err)
	}
	u8, err := jsUint8Array.New(ab)
	if err != nil {
		return err
	}
	s.data = make([]byte, s.n)
	got, err := safejs.CopyBytesToGo(s.data, u8)
	if err != nil {
		return err
	}
	if int64(got) != s.n {
		return fmt.Errorf("%w: read %d of %d bytes", engine.ErrFileChanged, got, s.n)
	}
	return nil
}

func (s *blobSection) Close() error { return nil }

// Sum digests the section with SubtleCrypto (core.js's digest), so its bytes stay
// out of wasm memory. Without SubtleCrypto (not a secure context) it says so, and the
// engine reads the bytes and hashes them in Go.
func (s *blobSection) Sum(ctx context.Context, algorithm string) ([]byte, error) {
	p, err := jsDigest.Invoke(s.slice, algorithm)
	var d safejs.Value
	if err == nil {
		d, err = await(ctx, p)
	}
	if err != nil {
		return nil, readError(thrown(err))
	}
	if d.IsNull() {
		return nil, errors.ErrUnsupported
	}
	n, _ := d.Length()
	sum := make([]byte, n)
	_, err = safejs.CopyBytesToGo(sum, d)
	return sum, err
}

// readError maps a failed Blob read: Chromium throws NotReadableError when the file
// behind a File changed on disk after it was picked.
func readError(err error) error {
	switch jsErrName(err) {
	case "NotReadableError", "NotFoundError":
		return fmt.Errorf("%w: %w", engine.ErrFileChanged, err)
	}
	return err
}

// Readable checks that the blob can still be read, and that its file's sample (if it
// has one) is unchanged: the engine asks after a request with this body failed (fetch
// says only "Failed to fetch").
func (s *blobSection) Readable(ctx context.Context) error {
	probe, err := s.slice.Call("slice", 0, min(s.n, 1))
	if err != nil {
		return readError(err)
	}
	ab, err := probe.Call("arrayBuffer")
	if err == nil {
		_, err = await(ctx, ab)
	}
	if err != nil {
		return readError(err)
	}
	return s.unchanged(ctx)
}

// unchanged compares the sample of the file the section is a slice of, if it has one
// (see filesample.go).
func (s *blobSection) unchanged(ctx context.Context) error {
	if s.file == nil || s.file.sample == nil {
		return nil
	}
	return s.file.sample.unchanged(ctx, s.file)
}
