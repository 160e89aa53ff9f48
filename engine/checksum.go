package engine

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
)

// Checksums (the checksum extension): each PATCH carries Upload-Checksum over exactly
// the bytes it sends, and a server that received other bytes answers 460. The
// algorithms are those both Go and browsers' SubtleCrypto compute.
var checksumAlgorithms = map[string]func() hash.Hash{
	"sha1": sha1.New, "sha256": sha256.New, "sha384": sha512.New384, "sha512": sha512.New,
}

// ChecksumAlgorithms lists the algorithm names Client.Checksum accepts.
func ChecksumAlgorithms() []string {
	var out []string
	for name := range checksumAlgorithms {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Summer is implemented by request bodies that can digest themselves without being
// read (a browser Blob, hashed by SubtleCrypto, so its bytes never enter wasm memory);
// Sum may answer errors.ErrUnsupported to have the engine read and hash the bytes.
// Other bodies are hashed from a second read of the same section.
type Summer interface {
	Sum(ctx context.Context, algorithm string) ([]byte, error)
}

// sum is the Upload-Checksum value for got bytes from off.
func (cl *call) sum(ctx context.Context, off, got int64) (string, error) {
	body, _, _, err := cl.in.read(ctx, off, got)
	if err != nil {
		return "", err
	}
	defer body.Close()
	if s, ok := body.(Summer); ok {
		digest, err := s.Sum(ctx, cl.c.Checksum)
		switch {
		case err == nil:
			return checksumHeader(cl.c.Checksum, digest), nil
		case !errors.Is(err, errors.ErrUnsupported):
			return "", fmt.Errorf("tus: %s of bytes %d-%d: %w", cl.c.Checksum, off, off+got, err)
		}
	}
	h := checksumAlgorithms[cl.c.Checksum]()
	if n, err := io.Copy(h, body); err != nil || n != got {
		return "", fmt.Errorf("%w: hashing bytes %d-%d read %d: %v", ErrFileChanged, off, off+got, n, err)
	}
	return checksumHeader(cl.c.Checksum, h.Sum(nil)), nil
}
