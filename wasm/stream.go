//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hack-pad/safejs"
	"github.com/tuswasm/tuswasm/engine"
)

var (
	jsReadableStream = safejs.MustGetGlobal("ReadableStream")
	// jsStreamSource is core.js's streamSource(stream): the one StreamSource that
	// reads stream and keeps its unconfirmed bytes as JS chunks.
	jsStreamSource safejs.Value
	// jsHolder is core.js's host.holder(): a new token by which a StreamSource tells
	// an upload of this program from others.
	jsHolder safejs.Value
)

// jsStream is an engine.Stream over a ReadableStream. The bytes stay in JavaScript:
// each section is a Blob made of the stream's own chunks, which the fetch transport
// sends as it is, like a File's slice.
type jsStream struct {
	src    safejs.Value
	holder safejs.Value // this upload, as the StreamSource tells its reader from others
	size   int64        // uploadSize, or -1
}

func isReadableStream(v safejs.Value) bool {
	ok, err := v.InstanceOf(jsReadableStream)
	return err == nil && ok
}

func newJSStream(v safejs.Value, size int64) (*jsStream, error) {
	src, err := jsStreamSource.Invoke(v)
	if err != nil {
		return nil, badOption("the stream cannot be read (another reader holds it?): %v", thrown(err))
	}
	holder, err := jsHolder.Invoke()
	if err != nil {
		return nil, err
	}
	return &jsStream{src: src, holder: holder, size: size}, nil
}

// hold makes this upload the stream's one reader until release is called: a second
// upload given the same stream while the first is under way would take bytes the first
// still needs (the first then failed part-way, with a partial upload left on the
// server).
func (s *jsStream) hold() (release func(), err error) {
	ok, err := s.src.Call("hold", s.holder)
	if err != nil {
		return nil, err
	}
	if held, _ := ok.Bool(); !held {
		return nil, badOption("this ReadableStream is being read by another upload: a stream feeds one upload at a time")
	}
	return func() { _, _ = s.src.Call("letGo", s.holder) }, nil
}

// hold holds the call's source when it is a stream.
func (c *call) hold() (release func(), err error) {
	if s, ok := c.src.(*jsStream); ok {
		return s.hold()
	}
	return func() {}, nil
}

func (s *jsStream) Name() string { return "stream" }
func (s *jsStream) Size() int64  { return s.size }

func (s *jsStream) Section(ctx context.Context, off, n int64) (io.ReadCloser, int64, bool, error) {
	p, err := s.src.Call("section", float64(off), float64(n))
	var r safejs.Value
	if err == nil {
		r, err = await(ctx, p)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, false, ctx.Err()
		}
		return nil, 0, false, fmt.Errorf("%w: %w", engine.ErrFileChanged, thrown(err))
	}
	blob, _ := r.Index(0)
	gotV, _ := r.Index(1)
	endV, _ := r.Index(2)
	got, err := gotV.Float()
	if err != nil {
		return nil, 0, false, err
	}
	end, _ := endV.Bool()
	if s.size >= 0 && off+int64(got) == s.size && !end {
		// The stream goes on past the uploadSize the caller declared: sending the
		// declared bytes would complete the upload with the stream cut short.
		return nil, 0, false, fmt.Errorf("%w: the stream holds more than its uploadSize of %d bytes", engine.ErrFileChanged, s.size)
	}
	return &blobSection{slice: blob, off: off, n: int64(got), ctx: ctx}, int64(got), end, nil
}

func (s *jsStream) Release(off int64) { _, _ = s.src.Call("release", float64(off)) }
