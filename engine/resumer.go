package engine

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// The resumer: what ties an upload to its Store entry and its lock. A File's
// fingerprint names both; the entry is read to resume, written when the upload is
// created or continued, before bytes go out (how far they reach, for a later page) and
// while it sends (its last use and a lease, so that no pruning drops it), and dropped
// when the upload completes or the server no longer honours it. A small file sent
// whole with its creation has neither (see whole).

// entry is what a call knows of its Store entry.
type entry struct {
	fp      string    // a File's fingerprint at endpoint ("" otherwise; see lock)
	created time.Time // when the upload was created
	// The last use, how long the entry is held active, when to renew that, and the
	// Offered it holds; guarded by the root call's mu.
	used, activeUntil, renewAt time.Time
	storedOffer                int64
	storeFailed                bool // Store refused an entry; the result says so
	createOnly                 bool // the call creates the upload and sends no byte (Upload.Create)
}

// lock computes a File's fingerprint when Store or Lock needs it, and takes the lock
// (release it when done).
func (cl *call) lock(ctx context.Context) (func(), error) {
	release := func() {}
	c := cl.c
	if _, isFile := cl.src.(File); !isFile {
		return release, nil
	}
	var err error
	if cl.whole() {
		return release, nil
	}
	if cl.endpoint != nil && (c.Store != nil || c.Lock != nil) {
		if cl.fp, err = cl.fingerprint(ctx, cl.src.(File), cl.endpoint); err != nil {
			return nil, err
		}
	}
	if c.Lock == nil {
		return release, nil
	}
	key := cl.fp
	if key == "" { // no endpoint, or FingerprintFunc said not to store
		at := cl.upload
		if at == nil {
			at = cl.endpoint
		}
		if key, err = fingerprint(ctx, cl.src.(File), at, ""); err != nil {
			return nil, err
		}
	}
	if release, err = c.Lock(ctx, key); err != nil {
		return nil, err
	}
	if release == nil {
		release = func() {}
	}
	return release, nil
}

// wholeMax is the largest file whole may take.
const wholeMax = 512 << 10

// whole reports whether this call creates an upload and sends all of a small file in
// one request (at most the first chunk and wholeMax, one upload; with its creation, or
// in the one PATCH after it): it is neither stored nor locked. Its fingerprint (a
// content sample read and digested), a Store lookup and a lock cost about as much time
// as a round trip, while what an interruption can lose is at most wholeMax bytes to
// send again.
func (cl *call) whole() bool {
	return !cl.createOnly && cl.upload == nil && cl.endpoint != nil && cl.size >= 0 &&
		cl.size <= min(cl.chunk.size(), wholeMax) && !cl.parallel()
}

// storeLease is how far ahead of now a call sending an upload keeps its entry's
// ActiveUntil; it renews it (and UsedAt) before a request once a quarter has passed.
const storeLease = 2 * time.Minute

// root is the call that owns the Store entry: a part's parallel upload, or the call.
func (cl *call) root() *call {
	if cl.owner != nil {
		return cl.owner
	}
	return cl
}

// touch brings the Store entry up to date before a request: it is written when the
// bytes offered outgrew what it says, or when the lease is due for renewal.
func (cl *call) touch(ctx context.Context) {
	root := cl.root()
	if root.c.Store == nil || root.fp == "" {
		return
	}
	root.mu.Lock()
	defer root.mu.Unlock()
	grew := false
	if cl.owner != nil {
		p := &root.parts[cl.index]
		grew, p.Offered = cl.offered > p.Offered, max(p.Offered, cl.offered)
	} else {
		grew, root.storedOffer = cl.offered > root.storedOffer, max(root.storedOffer, cl.offered)
	}
	now := time.Now()
	if !grew && now.Before(root.renewAt) {
		return
	}
	root.used, root.activeUntil, root.renewAt = now.UTC(), now.Add(storeLease).UTC(), now.Add(storeLease/4)
	root.remember(ctx)
}

// endLease clears the lease this call holds on its entry once it ends without
// completing (a pause, a failure): the entry then ages from its last use at once. The
// entry is read first, so one that another call has taken over or deleted is left.
func (cl *call) endLease(ctx context.Context) {
	if cl.c.Store == nil || cl.fp == "" || cl.activeUntil.IsZero() {
		return
	}
	ctx = context.WithoutCancel(ctx) // a pause ends the call, not this write
	e, found, err := cl.c.Store.Get(ctx, cl.fp)
	if err != nil || !found || !e.ActiveUntil.Equal(cl.activeUntil) {
		return
	}
	e.ActiveUntil = time.Time{}
	_ = cl.c.Store.Put(ctx, e)
}

// remember puts the upload in Store (Files only: a stream cannot be read again after
// a reload). The root call's mu is held for a parallel upload.
func (cl *call) remember(ctx context.Context) {
	if cl.c.Store == nil || cl.fp == "" {
		return
	}
	e := StoredUpload{Fingerprint: cl.fp, Size: cl.size, CreatedAt: cl.created, ExpiresAt: cl.expires, UsedAt: cl.used,
		ActiveUntil: cl.activeUntil, Parts: append([]Part(nil), cl.parts...)}
	// Only URLs on origins the call trusts: a later call would refuse others (storage
	// is not trusted input), so storing them would only leave orphans.
	urls := []*url.URL{cl.upload}
	if cl.parts != nil {
		urls = urls[:0]
		for _, p := range cl.parts {
			if u, err := parseEndpoint("part URL", p.URL); err == nil {
				urls = append(urls, u)
			}
		}
	} else if cl.upload != nil {
		e.URL, e.Offered = cl.upload.String(), max(cl.storedOffer, 0)
	}
	for _, u := range urls {
		if u == nil || !cl.trusts(u) {
			return
		}
	}
	err := cl.c.Store.Put(ctx, e)
	cl.storeFailed = cl.storeFailed || err != nil // it goes on without
}

// fingerprint is f's fingerprint at endpoint, the key of its Store entry: with
// FingerprintFunc, its key stands for f's name and date ("" from it: the upload is
// not stored).
func (p *policy) fingerprint(ctx context.Context, f File, endpoint *url.URL) (string, error) {
	fn := p.c.FingerprintFunc
	if fn == nil {
		return fingerprint(ctx, f, endpoint, "")
	}
	var key string
	err := p.hook(ctx, "FingerprintFunc", func(ctx context.Context) (err error) {
		key, err = fn(ctx, f)
		return err
	})
	if err != nil || key == "" {
		return "", err
	}
	return fingerprint(ctx, f, endpoint, key)
}

// fingerprint computes f's fingerprint at `at` (the endpoint, or the upload URL when
// there is none: a lock key then) from its name and date, or from key when not empty;
// its size and content sample count either way, so that no key makes other content
// resume an upload.
func fingerprint(ctx context.Context, f File, at *url.URL, key string) (string, error) {
	sample, err := contentSample(ctx, f)
	if err != nil {
		return "", err
	}
	if key != "" {
		return Fingerprint("\x00key:"+key, f.Size(), time.Time{}, at.String(), sample), nil
	}
	var mt time.Time
	if m, ok := f.(ModTimer); ok {
		mt = m.ModTime()
	}
	return Fingerprint(f.Name(), f.Size(), mt, at.String(), sample), nil
}

// resumeStored continues the upload Store remembers for this file, if any. ok reports
// that the call is over (err says how); ok is false when there is nothing to resume or
// the server no longer honours the stored upload, which is then forgotten, so that
// the caller creates a new one.
func (cl *call) resumeStored(ctx context.Context) (Result, bool, error) {
	st := cl.c.Store
	if st == nil || cl.fp == "" {
		return Result{}, false, nil
	}
	// Store failures must not fail the upload: without the entry we create anew.
	prev, found, err := st.Get(ctx, cl.fp)
	if err != nil || !found {
		return Result{}, false, nil
	}
	// An entry is used only for the file and endpoint it was made for, only before it
	// expires, and only when its URL is on an origin this call trusts: storage is not
	// trusted input. Its URL is then treated as a server's: it adds no trust of its own.
	u, err := parseEndpoint("stored upload URL", prev.URL)
	if err != nil || prev.Size != cl.size || prev.Fingerprint != cl.fp || !cl.trusts(u) || prev.stale(time.Now(), cl.c.storeMaxAge()) {
		_ = st.Delete(ctx, cl.fp)
		return Result{}, false, nil
	}
	cl.upload, cl.created, cl.expires, cl.storedOffer = u, prev.CreatedAt, prev.ExpiresAt, min(max(prev.Offered, 0), cl.size)
	offset, err := cl.open(ctx)
	if err == nil {
		cl.touch(ctx)
		var res Result
		res, err = cl.finish(ctx, offset)
		switch {
		case err == nil:
			res.Resumed = true
			return res, true, nil
		case !errors.Is(err, ErrUploadExpired):
			return Result{}, true, err
		}
		// Gone mid-way: this call was asked to upload the file, so it starts anew.
	} else if !dishonoured(err) {
		return Result{}, true, err
	}
	_ = st.Delete(ctx, cl.fp)
	return Result{}, false, nil
}

// dishonoured reports whether err says the server no longer honours a stored upload:
// it is gone (404, 410), refused (403 and other final 4xx) or of another length. A
// 401 is not among them: after a token refresh the upload may well continue.
func dishonoured(err error) bool {
	if errors.Is(err, ErrUploadExpired) || errors.Is(err, errLengthMismatch) {
		return true
	}
	var he *HTTPError
	return errors.As(err, &he) && he.Status >= 400 && he.Status < 500 &&
		he.Status != http.StatusUnauthorized && !Recoverable(err)
}

// prune drops the stale entries of Store (see StoredUpload.stale) when the Store says
// it is due (see PruneScheduler); a call that stores nothing (whole) leaves it.
func (cl *call) prune(ctx context.Context) {
	if cl.c.Store == nil || cl.whole() {
		return
	}
	if ps, ok := cl.c.Store.(PruneScheduler); ok && !ps.PruneDue(time.Now(), cl.c.storeMaxAge()) {
		return
	}
	_, _ = cl.c.ListUploads(ctx)
}

// forget removes every Store entry for the upload at url.
func (cl *call) forget(ctx context.Context, url string) {
	if cl.c.Store == nil {
		return
	}
	list, err := cl.c.Store.List(ctx)
	if err != nil {
		return
	}
	for _, e := range list {
		for _, raw := range append([]string{e.URL}, partURLs(e.Parts)...) {
			if u, err := parseEndpoint("stored upload URL", raw); err == nil && u.String() == url {
				_ = cl.c.Store.Delete(ctx, e.Fingerprint)
				break
			}
		}
	}
}
