//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/hack-pad/safejs"
	"github.com/tuswasm/tuswasm/engine"
)

// Firefox reads a picked File from disk as the file is at the time of the read, with
// no error when it was rewritten: a file rewritten between two requests of an upload
// went up as a mix of both versions and was reported a success (an outside audit).
// Where the host does not vouch that a changed File fails its reads (see wholeFiles),
// an upload of a File keeps a sample of its bytes, taken before its first request, and
// compares it after each request with a body: a difference fails the upload
// FILE_CHANGED rather than completing it. It sees a rewrite of the file and any
// contiguous change longer than a 31st of it; a smaller edit between its ranges goes
// unseen (an outside audit showed one).

const (
	sampleRanges = 32 // spread evenly, the first at the start, the last at the end
	sampleBytes  = 32 // per range: 1 KiB read per check
)

// fileSample is the sample of one upload's File.
type fileSample struct {
	mu   sync.Mutex
	want []byte // nil until taken
}

// sampleFor is a sample for f's uploads where the host needs one: a File (a Blob made
// in memory does not change) in an engine that does not vouch for its reads.
func sampleFor(v safejs.Value) *fileSample {
	if wholeFiles {
		return nil
	}
	if ok, err := v.InstanceOf(jsFile); err != nil || !ok {
		return nil
	}
	return &fileSample{}
}

// take reads the sample the first time it is called (before the upload's first
// request); a failed read is tried again by the next call.
func (s *fileSample) take(ctx context.Context, f *blobFile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.want != nil {
		return nil
	}
	got, err := f.readSample(ctx)
	if err == nil {
		s.want = got
	}
	return err
}

// unchanged reads the sample again and compares it with the one taken.
func (s *fileSample) unchanged(ctx context.Context, f *blobFile) error {
	s.mu.Lock()
	want := s.want
	s.mu.Unlock()
	if want == nil {
		return nil
	}
	got, err := f.readSample(ctx)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: the file's bytes differ from those it had when its upload began", engine.ErrFileChanged)
	}
	return nil
}

// readSample reads the sample's ranges of f as one Blob made of slices.
func (f *blobFile) readSample(ctx context.Context) ([]byte, error) {
	parts, err := jsArray.New()
	if err != nil {
		return nil, err
	}
	step := max((f.size-sampleBytes)/(sampleRanges-1), 1)
	for i := range int64(sampleRanges) {
		off := min(i*step, max(f.size-sampleBytes, 0))
		slice, err := f.blob.Call("slice", float64(off), float64(min(off+sampleBytes, f.size)))
		if err != nil {
			return nil, readError(err)
		}
		if _, err := parts.Call("push", slice); err != nil {
			return nil, err
		}
		if off+sampleBytes >= f.size {
			break
		}
	}
	blob, err := jsBlob.New(parts)
	if err != nil {
		return nil, err
	}
	sec := &blobSection{slice: blob, ctx: ctx}
	if n, err := blob.Get("size"); err == nil {
		size, _ := n.Float()
		sec.n = int64(size)
	}
	if err := sec.load(); err != nil {
		return nil, err
	}
	return sec.data, nil
}
