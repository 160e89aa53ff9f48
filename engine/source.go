package engine

import (
	"context"
	"fmt"
	"io"
)

// source is the transfer loop's view of a Source: bytes by offset, and where it ends.
type source interface {
	// read returns a body of got bytes from off (n, or fewer where the source ends) and
	// whether the source ends right after them.
	read(ctx context.Context, off, n int64) (body io.ReadCloser, got int64, end bool, err error)
	// confirmed lets go of the bytes before off (a stream keeps only what is unconfirmed).
	confirmed(off int64)
}

// newSource checks src and adapts it.
func newSource(src Source) (source, error) {
	switch s := src.(type) {
	case File:
		if s.Size() < 0 {
			return nil, fmt.Errorf("%w: file size %d", ErrInvalidOption, s.Size())
		}
		return fileSource{s}, nil
	case Stream:
		return streamSource{s}, nil
	}
	return nil, fmt.Errorf("%w: a source must be a File or a Stream, not %T", ErrInvalidOption, src)
}

type fileSource struct{ f File }

func (s fileSource) read(ctx context.Context, off, n int64) (io.ReadCloser, int64, bool, error) {
	n = max(min(n, s.f.Size()-off), 0)
	body, err := s.f.ReadSection(ctx, off, n)
	if err != nil {
		return nil, 0, false, fmt.Errorf("tus: reading bytes %d-%d of %s: %w", off, off+n, s.f.Name(), err)
	}
	return body, n, off+n == s.f.Size(), nil
}

func (fileSource) confirmed(int64) {}

type streamSource struct{ s Stream }

func (s streamSource) read(ctx context.Context, off, n int64) (io.ReadCloser, int64, bool, error) {
	body, got, end, err := s.s.Section(ctx, off, n)
	if err != nil {
		return nil, 0, false, fmt.Errorf("tus: reading bytes %d-%d of stream %s: %w", off, off+n, s.s.Name(), err)
	}
	if got > n || got < 0 || (got < n && !end) {
		closeBody(body)
		return nil, 0, false, fmt.Errorf("tus: stream %s gave %d bytes for %d without ending", s.s.Name(), got, n)
	}
	return body, got, end, nil
}

func (s streamSource) confirmed(off int64) { s.s.Release(off) }
