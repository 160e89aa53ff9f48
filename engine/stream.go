package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
)

// Source is what an upload sends: a File (re-readable: resumable across calls and
// processes, remembered in a Store) or a Stream (read once: resumable within the
// process only, never stored). Any other Source is ErrInvalidOption.
type Source interface {
	Name() string
	// Size is the length in bytes; a Stream may answer -1 (unknown until it ends).
	Size() int64
}

// Stream is a source read once, front to back (a pipe, a recorder, a compressor), whose
// length may be unknown until it ends. The engine asks for each request's bytes with
// Section and lets go of what the server confirmed with Release, so a Stream keeps at
// most about one chunk.
type Stream interface {
	Source
	// Section returns a reader over [off, off+n) or, when the stream ends first, over
	// what is left; end reports that the stream ends right after the got bytes
	// (implementations look one byte ahead to know). off is never below the last
	// Release; the same range may be asked for again (a retry).
	Section(ctx context.Context, off, n int64) (body io.ReadCloser, got int64, end bool, err error)
	// Release tells the stream that the bytes before off are confirmed.
	Release(off int64)
}

// ReaderStream is a Stream over an io.Reader, keeping the unconfirmed bytes in memory.
type ReaderStream struct {
	R        io.Reader
	FileName string
	// Length is the total when known up front, or -1. A reader that ends elsewhere is
	// ErrFileChanged.
	Length int64

	mu    sync.Mutex
	buf   []byte // bytes from start on, read but not released
	start int64
	eof   bool
}

// NewReaderStream returns a Stream over r of unknown length.
func NewReaderStream(name string, r io.Reader) *ReaderStream {
	return &ReaderStream{R: r, FileName: name, Length: -1}
}

// Name is FileName.
func (s *ReaderStream) Name() string { return s.FileName }

// Size is Length.
func (s *ReaderStream) Size() int64 { return s.Length }

// Section reads ahead until [off, off+n] is buffered (one byte beyond, to tell the end)
// or the reader ends.
func (s *ReaderStream) Section(ctx context.Context, off, n int64) (io.ReadCloser, int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if off < s.start || off > s.start+int64(len(s.buf)) {
		return nil, 0, false, fmt.Errorf("tus: stream section at %d outside the kept bytes [%d,%d)", off, s.start, s.start+int64(len(s.buf)))
	}
	for !s.eof && s.start+int64(len(s.buf)) <= off+n {
		if err := ctx.Err(); err != nil {
			return nil, 0, false, err
		}
		grow := max(off+n+1-s.start-int64(len(s.buf)), 32<<10)
		old := len(s.buf)
		s.buf = append(s.buf, make([]byte, grow)...)
		m, err := s.R.Read(s.buf[old:])
		s.buf = s.buf[:old+m]
		switch {
		case err == io.EOF:
			s.eof = true
		case err != nil:
			return nil, 0, false, fmt.Errorf("%w: reading the stream: %w", ErrFileChanged, err)
		}
	}
	from := off - s.start
	got := min(n, int64(len(s.buf))-from)
	end := s.eof && from+got == int64(len(s.buf))
	// A copy: Release may reuse the buffer while a request still reads the body.
	body := bytes.Clone(s.buf[from : from+got])
	return io.NopCloser(bytes.NewReader(body)), got, end, nil
}

// Release drops the bytes before off.
func (s *ReaderStream) Release(off int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if drop := off - s.start; drop > 0 && drop <= int64(len(s.buf)) {
		s.buf = append(s.buf[:0], s.buf[drop:]...)
		s.start = off
	}
}
