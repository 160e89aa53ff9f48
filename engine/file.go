package engine

import (
	"context"
	"fmt"
	"io"
	"time"
)

// File is the source of an upload. ReadSection must be callable any number of times for
// any range (the engine calls it again for every retry) and must return exactly length
// bytes or an error; a source that can no longer deliver them returns an error wrapping
// ErrFileChanged.
type File interface {
	Name() string
	Size() int64
	ReadSection(ctx context.Context, offset, length int64) (io.ReadCloser, error)
}

// ModTimer is implemented by files that know their modification time; it becomes part
// of the fingerprint so an edited file is not resumed onto the old upload.
type ModTimer interface {
	ModTime() time.Time
}

// ReaderAtFile adapts an io.ReaderAt (an *os.File, a *bytes.Reader) to File.
type ReaderAtFile struct {
	R        io.ReaderAt
	FileName string
	Length   int64
	Modified time.Time // optional
}

// NewBytesFile is a File over an in-memory byte slice.
func NewBytesFile(name string, b []byte) *ReaderAtFile {
	return &ReaderAtFile{R: bytesReaderAt(b), FileName: name, Length: int64(len(b))}
}

// Name is FileName.
func (f *ReaderAtFile) Name() string { return f.FileName }

// Size is Length.
func (f *ReaderAtFile) Size() int64 { return f.Length }

// ModTime is Modified (zero when unknown).
func (f *ReaderAtFile) ModTime() time.Time { return f.Modified }

// ReadSection returns a reader over [offset, offset+length). A source that ends early
// yields ErrFileChanged instead of a short body.
func (f *ReaderAtFile) ReadSection(_ context.Context, offset, length int64) (io.ReadCloser, error) {
	if offset < 0 || length < 0 || offset+length > f.Length {
		return nil, fmt.Errorf("tus: section [%d,%d) outside file of %d bytes", offset, offset+length, f.Length)
	}
	return &sectionReader{r: io.NewSectionReader(f.R, offset, length), left: length}, nil
}

type sectionReader struct {
	r    *io.SectionReader
	left int64
}

func (s *sectionReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.left -= int64(n)
	switch {
	case err == io.EOF && s.left > 0:
		return n, fmt.Errorf("%w: source ended %d bytes early", ErrFileChanged, s.left)
	case err != nil && err != io.EOF:
		return n, fmt.Errorf("%w: %w", ErrFileChanged, err) // the source can no longer be read
	}
	return n, err
}

func (s *sectionReader) Close() error { return nil }

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
