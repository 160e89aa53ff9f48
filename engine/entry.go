package engine

import (
	"context"
	"net/url"
	"time"
)

// A call keeps its upload's Store entry current: written when the upload is created
// or continued, before bytes go out (how far they reach, for a later page), and while
// it sends (its last use and a lease, so that no pruning drops it).

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
