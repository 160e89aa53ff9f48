package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"
)

// StoredUpload is what a Store keeps to resume an upload later: the upload URL, the
// file size, when it was created and expires, and the fingerprint. Nothing else, so no
// credential, header or metadata value (which may be personal) is ever persisted.
type StoredUpload struct {
	Fingerprint string    `json:"fingerprint"`
	URL         string    `json:"url"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"createdAt"`
	// ExpiresAt is when the server said it will discard the upload (its
	// Upload-Expires); zero when it did not say.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// expired reports whether the server has discarded the upload by now, by its word.
func (u StoredUpload) expired(now time.Time) bool {
	return !u.ExpiresAt.IsZero() && !now.Before(u.ExpiresAt)
}

// Store persists upload URLs by fingerprint so an interrupted upload can be resumed
// (across page reloads in the browser). Get reports found=false for unknown fingerprints.
type Store interface {
	Get(ctx context.Context, fingerprint string) (u StoredUpload, found bool, err error)
	Put(ctx context.Context, u StoredUpload) error
	Delete(ctx context.Context, fingerprint string) error
	List(ctx context.Context) ([]StoredUpload, error)
}

// Fingerprint identifies "this file to this endpoint": the same name, size and
// modification time (zero when unknown) sent to the same endpoint give the same value,
// so an entry stored for one endpoint is never used for another. It is a hash, so the
// file name does not appear in storage keys.
func Fingerprint(name string, size int64, modTime time.Time, endpoint string) string {
	h := sha256.New()
	for _, part := range []string{name, strconv.FormatInt(size, 10), strconv.FormatInt(modTime.UnixMilli(), 10), endpoint} {
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{':'})
		h.Write([]byte(part))
	}
	return "tus1-" + hex.EncodeToString(h.Sum(nil)[:16])
}

func fileFingerprint(f File, endpoint string) string {
	var mt time.Time
	if m, ok := f.(ModTimer); ok {
		mt = m.ModTime()
	}
	return Fingerprint(f.Name(), f.Size(), mt, endpoint)
}

// MemoryStore is a Store in process memory, safe for concurrent use.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]StoredUpload
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string]StoredUpload{}} }

// Get returns the entry for fp.
func (s *MemoryStore) Get(_ context.Context, fp string) (StoredUpload, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.m[fp]
	return u, ok, nil
}

// Put stores u under its fingerprint.
func (s *MemoryStore) Put(_ context.Context, u StoredUpload) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[u.Fingerprint] = u
	return nil
}

// Delete forgets fp.
func (s *MemoryStore) Delete(_ context.Context, fp string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, fp)
	return nil
}

// List returns every entry, oldest first.
func (s *MemoryStore) List(_ context.Context) ([]StoredUpload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Collect(maps.Values(s.m))
	slices.SortFunc(out, func(a, b StoredUpload) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}
