//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/tuswasm/tuswasm/engine"
)

// jsStore adapts an object with get(fp), set(fp, entry), remove(fp) and list(), sync
// or async, to engine.Store: the caller's own storage, or storage.js's localStorage,
// IndexedDB and memory adapters (storage.js), the one implementation of each for the
// page and the worker. Entries cross as plain objects with the StoredUpload fields.
//
// Storage never holds an upload: a method whose Promise has not settled after
// storageTimeout fails, and the rest of the call goes on without this storage (a
// blocked IndexedDB open, a caller's adapter that never answers). A caller's own
// adapter that throws, rejects or answers nonsense fails with ErrHook (what
// listUploads and removeUpload report; uploads go on without it).
type jsStore struct {
	obj    safejs.Value
	kind   string // storage.js's adapter ('default', 'indexeddb', 'memory'), "" for the caller's
	custom bool   // the caller's object, not one of storage.js's adapters
	dead   bool   // a method did not answer in time: no more calls
}

// pruneEvery: storage.js's adapters are pruned of stale entries by uploads at most this
// often per module (entries go stale after days), not before each of many files; a
// call whose storageMaxAgeMs is shorter prunes at most that often, and whenever the
// last prune used a longer age (it left entries this call counts stale). The caller's
// own storage is pruned by every upload that stores its file.
const pruneEvery = 10 * time.Minute

// pruneMark is when an upload last pruned an adapter, and with what age (-1: none).
type pruneMark struct {
	at     time.Time
	maxAge time.Duration
}

var (
	prunedMu sync.Mutex
	pruned   = map[string]pruneMark{} // storage.js adapter → its last prune by an upload
)

// PruneDue implements engine.PruneScheduler.
func (s *jsStore) PruneDue(now time.Time, maxAge time.Duration) bool {
	if s.kind == "" {
		return true
	}
	prunedMu.Lock()
	defer prunedMu.Unlock()
	every := pruneEvery
	if maxAge >= 0 {
		every = min(every, maxAge)
	}
	// The last prune dropped all this call would (then) when its age was no longer.
	last, ok := pruned[s.kind]
	covered := maxAge < 0 || last.maxAge >= 0 && last.maxAge <= maxAge
	if ok && covered && now.Sub(last.at) < every {
		return false
	}
	pruned[s.kind] = pruneMark{at: now, maxAge: maxAge}
	return true
}

const storageTimeout = 10 * time.Second

func (s *jsStore) call(ctx context.Context, method string, args ...any) (safejs.Value, error) {
	if s.dead {
		return safejs.Undefined(), s.fail(method, fmt.Errorf("an earlier call did not answer within %v", storageTimeout))
	}
	v, err := s.obj.Call(method, args...)
	if err != nil {
		return v, s.fail(method, thrown(err)) // thrown: a thrown string must not panic in Error()
	}
	p, err := jsPromise.Call("resolve", v) // the method may be sync or async
	if err != nil {
		return v, s.fail(method, thrown(err))
	}
	tctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	r, err := await(tctx, p)
	switch {
	case err == nil:
		return r, nil
	case ctx.Err() != nil:
		return r, ctx.Err()
	case tctx.Err() != nil:
		s.dead = true
		return r, s.fail(method, fmt.Errorf("no answer within %v", storageTimeout))
	}
	return r, s.fail(method, err)
}

func (s *jsStore) fail(method string, err error) error {
	if s.custom {
		return fmt.Errorf("%w: storage.%s: %w", engine.ErrHook, method, err)
	}
	return fmt.Errorf("storage.%s: %w", method, err)
}

func (s *jsStore) Get(ctx context.Context, fp string) (engine.StoredUpload, bool, error) {
	v, err := s.call(ctx, "get", fp)
	if err != nil || isNullish(v) {
		return engine.StoredUpload{}, false, err
	}
	u, ok := storedFrom(v)
	if !ok || u.Fingerprint != fp {
		_ = s.Delete(ctx, fp) // of no use to anyone: forget it
		return engine.StoredUpload{}, false, nil
	}
	return u, true, nil
}

func (s *jsStore) Put(ctx context.Context, u engine.StoredUpload) error {
	_, err := s.call(ctx, "set", u.Fingerprint, storedObject(u))
	return err
}

func (s *jsStore) Delete(ctx context.Context, fp string) error {
	_, err := s.call(ctx, "remove", fp)
	return err
}

func (s *jsStore) List(ctx context.Context) ([]engine.StoredUpload, error) {
	v, err := s.call(ctx, "list")
	if err != nil || isNullish(v) {
		return nil, err
	}
	if isArr, err := jsArray.Call("isArray", v); err != nil || !isTrue(isArr) {
		return nil, s.fail("list", fmt.Errorf("want an array of entries, not %s", describe(v)))
	}
	n, err := v.Length()
	if err != nil {
		return nil, s.fail("list", err)
	}
	var out []engine.StoredUpload
	for i := range n {
		e, _ := v.Index(i)
		if u, ok := storedFrom(e); ok {
			out = append(out, u)
		}
	}
	return out, nil
}

// storedObject is u as a plain object: what storage adapters receive and
// findPreviousUploads returns.
func storedObject(u engine.StoredUpload) map[string]any {
	o := map[string]any{
		"fingerprint": u.Fingerprint, "url": u.URL, "size": float64(u.Size),
		"createdAt": u.CreatedAt.UTC().Format(time.RFC3339),
	}
	if !u.ExpiresAt.IsZero() {
		o["expiresAt"] = u.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if !u.UsedAt.IsZero() {
		o["usedAt"] = u.UsedAt.UTC().Format(time.RFC3339)
	}
	if !u.ActiveUntil.IsZero() {
		o["activeUntil"] = u.ActiveUntil.UTC().Format(time.RFC3339)
	}
	if u.Offered > 0 {
		o["offered"] = float64(u.Offered)
	}
	if len(u.Parts) > 0 {
		parts := make([]any, len(u.Parts))
		for i, p := range u.Parts {
			parts[i] = map[string]any{"start": float64(p.Start), "end": float64(p.End), "url": p.URL, "offered": float64(p.Offered)}
		}
		o["parts"] = parts
	}
	return o
}

// storedFrom reads an entry back; ok is false for anything without a URL (or parts)
// and a size: what a resume needs.
func storedFrom(v safejs.Value) (u engine.StoredUpload, ok bool) {
	if isNullish(v) {
		return u, false
	}
	u.URL, _ = getString(v, "url")
	if parts, err := v.Get("parts"); err == nil && isArray(parts) {
		n, _ := parts.Length()
		for i := range n {
			p, _ := parts.Index(i)
			start, _, _ := getNumber(p, "start")
			end, _, _ := getNumber(p, "end")
			url, _ := getString(p, "url")
			offered, _, _ := getNumber(p, "offered")
			u.Parts = append(u.Parts, engine.Part{Start: int64(start), End: int64(end), URL: url, Offered: int64(offered)})
		}
	}
	if u.URL == "" && len(u.Parts) == 0 {
		return u, false
	}
	u.Fingerprint, _ = getString(v, "fingerprint")
	size, hasSize, _ := getNumber(v, "size")
	if !hasSize {
		return u, false
	}
	u.Size = int64(size)
	if offered, ok, _ := getNumber(v, "offered"); ok && offered > 0 && offered < 1<<53 {
		u.Offered = int64(offered)
	}
	if at, _ := getString(v, "createdAt"); at != "" {
		u.CreatedAt, _ = time.Parse(time.RFC3339, at)
	}
	if at, _ := getString(v, "expiresAt"); at != "" {
		u.ExpiresAt, _ = time.Parse(time.RFC3339, at)
	}
	if at, _ := getString(v, "usedAt"); at != "" {
		u.UsedAt, _ = time.Parse(time.RFC3339, at)
	}
	if at, _ := getString(v, "activeUntil"); at != "" {
		u.ActiveUntil, _ = time.Parse(time.RFC3339, at)
	}
	return u, true
}
