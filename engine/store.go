package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	// UsedAt is when a call last sent to the upload (continued it, or sent a chunk of
	// it); zero until one did. An entry's age counts from it.
	UsedAt time.Time `json:"usedAt,omitzero"`
	// ActiveUntil: a call is sending the upload and renews this while it does (see
	// storeLease); the entry is not stale before it, whatever StoreMaxAge asks.
	ActiveUntil time.Time `json:"activeUntil,omitzero"`
	// Offered is the end of the bytes calls have offered to the upload (written before
	// they are sent): a later call takes an offset up to it for the file's own bytes,
	// which a server may still be storing, and refuses one past it.
	Offered int64 `json:"offered,omitempty"`
	// Parts are a parallel upload's ranges and part URLs (URL is then empty until the
	// parts are joined, which completes the upload and ends the entry).
	Parts []Part `json:"parts,omitempty"`
}

// DefaultStoreMaxAge is how long an entry lives unused when Client.StoreMaxAge is zero.
const DefaultStoreMaxAge = 7 * 24 * time.Hour

// stale reports whether an entry is of no more use at now: the server said the upload
// expired, or nothing used it for maxAge (negative: no limit) and no call is sending it.
func (u StoredUpload) stale(now time.Time, maxAge time.Duration) bool {
	switch {
	case !u.ExpiresAt.IsZero() && !now.Before(u.ExpiresAt):
		return true
	case now.Before(u.ActiveUntil) && u.ActiveUntil.Sub(now) <= storeLease:
		return false // in use (a lease further ahead is not one this engine wrote)
	}
	last := u.CreatedAt
	if u.UsedAt.After(last) {
		last = u.UsedAt
	}
	return maxAge >= 0 && now.Sub(last) > maxAge
}

// PruneScheduler is a Store that says when its stale entries are worth dropping (an
// upload prunes a Store without it each time: a List per file of many). maxAge is the
// pruning call's StoreMaxAge (-1: entries do not age); a prune with a longer one left
// entries that this call counts stale.
type PruneScheduler interface {
	PruneDue(now time.Time, maxAge time.Duration) bool
}

// Store persists upload URLs by fingerprint so an interrupted upload can be resumed
// (across page reloads in the browser). Get reports found=false for unknown fingerprints.
type Store interface {
	Get(ctx context.Context, fingerprint string) (u StoredUpload, found bool, err error)
	Put(ctx context.Context, u StoredUpload) error
	Delete(ctx context.Context, fingerprint string) error
	List(ctx context.Context) ([]StoredUpload, error)
}

// Fingerprint identifies "this content to this endpoint": the same name, size,
// modification time (zero when unknown), content sample (see Client.Fingerprint) and
// endpoint give the same value, so an entry stored for one file or endpoint is never
// used for another. It is a hash, so the file name does not appear in storage keys.
func Fingerprint(name string, size int64, modTime time.Time, endpoint string, sample []byte) string {
	h := sha256.New()
	for _, part := range []string{name, strconv.FormatInt(size, 10), strconv.FormatInt(modTime.UnixMilli(), 10), endpoint, string(sample)} {
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{':'})
		h.Write([]byte(part))
	}
	return "tus2-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Fingerprint is f's fingerprint at c's Endpoint, the key of its Store entry and its
// Lock ("" when FingerprintFunc says f is not to be stored). Its content sample is a digest of up to 224 KiB of f (the first and last 64
// KiB and six 16 KiB ranges between; all of a file up to 256 KiB), so two files alike
// in name, size and date, or a file rewritten in place, do not share an upload.
func (c *Client) Fingerprint(ctx context.Context, f File) (string, error) {
	p, err := c.newPolicy(UploadURL{})
	if err != nil {
		return "", err
	}
	return p.fingerprint(ctx, f, p.endpoint)
}

// sampleRanges are the [offset, length) ranges of a file of size bytes that its
// fingerprint reads.
func sampleRanges(size int64) [][2]int64 {
	const edge, mid, between = 64 << 10, 16 << 10, 6
	if size <= 4*edge {
		return [][2]int64{{0, size}}
	}
	r := [][2]int64{{0, edge}}
	for k := int64(1); k <= between; k++ {
		r = append(r, [2]int64{size * k / (between + 1), mid})
	}
	return append(r, [2]int64{size - edge, edge})
}

// contentSample is the SHA-256 of the SHA-256s of f's sample ranges. A body that is a
// Summer digests itself (in the browser: SubtleCrypto, bytes outside wasm). The ranges
// are read at once: in the browser each is a round trip to the file and the digest,
// and together they take the time of about one.
func contentSample(ctx context.Context, f File) ([]byte, error) {
	ranges := sampleRanges(f.Size())
	sums := make([][]byte, len(ranges))
	errs := make([]error, len(ranges))
	var wg sync.WaitGroup
	for i, r := range ranges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, err := f.ReadSection(ctx, r[0], r[1])
			if err == nil {
				sums[i], err = sectionSum(ctx, body, r[1])
				body.Close()
			}
			if err != nil {
				errs[i] = fmt.Errorf("tus: reading %s for its fingerprint: %w", f.Name(), err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs { // the first range's failure says it for all
		if err != nil {
			return nil, err
		}
	}
	all := sha256.New()
	for _, sum := range sums {
		all.Write(sum)
	}
	return all.Sum(nil), nil
}

// sectionSum is the SHA-256 of n bytes of body.
func sectionSum(ctx context.Context, body io.Reader, n int64) ([]byte, error) {
	if s, ok := body.(Summer); ok {
		sum, err := s.Sum(ctx, "sha256")
		if !errors.Is(err, errors.ErrUnsupported) {
			return sum, err
		}
	}
	h := sha256.New()
	if got, err := io.Copy(h, body); err != nil || got != n {
		return nil, fmt.Errorf("%w: read %d of %d bytes: %v", ErrFileChanged, got, n, err)
	}
	return h.Sum(nil), nil
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
