package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// create POSTs a new upload, remembers it in Store and reports it.
func (cl *call) create(ctx context.Context) error {
	err := cl.retrying(ctx, func() error {
		rep, err := cl.do(ctx, http.MethodPost, cl.endpoint, nil, 0, func(h http.Header) {
			cl.d.createHeaders(h, cl.size, cl.metadata)
		})
		if err != nil {
			return err
		}
		cl.upload, err = cl.d.readCreate(rep, cl.endpoint)
		return err
	})
	if err != nil {
		return err
	}
	cl.reported, cl.offered = -1, 0
	loc := cl.upload.String()
	if cl.c.Store != nil && cl.fp != "" {
		_ = cl.c.Store.Put(ctx, StoredUpload{Fingerprint: cl.fp, URL: loc, Size: cl.size, CreatedAt: time.Now().UTC()})
	}
	if cl.c.OnCreate != nil {
		cl.c.OnCreate(loc)
	}
	if cl.c.OnUploadURL != nil {
		cl.c.OnUploadURL(loc)
	}
	return nil
}

// open asks the server where the existing upload cl.upload stands (HEAD, retried) and
// reports its URL. That offset is the call's baseline: later HEADs may not claim more
// than it or the bytes sent since.
func (cl *call) open(ctx context.Context) (int64, error) {
	var offset int64
	err := cl.retrying(ctx, func() (err error) {
		offset, err = cl.head(ctx, true)
		return err
	})
	if err != nil {
		return 0, err
	}
	if cl.c.OnUploadURL != nil {
		cl.c.OnUploadURL(cl.upload.String())
	}
	return offset, nil
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
	// An entry is used only for the file and endpoint it was made for, and only when its
	// URL is on an origin this call trusts: storage is not trusted input. Its URL is
	// then treated as a server's: it adds no trust of its own.
	u, err := parseEndpoint("stored upload URL", prev.URL)
	if err != nil || prev.Size != cl.size || prev.Fingerprint != cl.fp || !cl.trusts(u) {
		_ = st.Delete(ctx, cl.fp)
		return Result{}, false, nil
	}
	cl.upload = u
	offset, err := cl.open(ctx)
	if err == nil {
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

// finish sends the file to cl.upload from offset and, per OnExpired, re-creates an
// upload that disappeared. Store forgets the upload once it is complete.
func (cl *call) finish(ctx context.Context, offset int64) (Result, error) {
	err := cl.transfer(ctx, offset)
	if cl.recreates(err) {
		if err := cl.recreate(ctx); err != nil {
			return Result{}, err
		}
		err = cl.transfer(ctx, 0)
	}
	if err != nil {
		return Result{}, err
	}
	if cl.c.Store != nil && cl.fp != "" {
		_ = cl.c.Store.Delete(ctx, cl.fp)
	}
	return Result{URL: cl.upload.String(), Size: cl.size}, nil
}

// recreates reports whether err (the upload is gone) is to be met, per OnExpired, with
// a new upload. That happens once per call: finish does not ask again.
func (cl *call) recreates(err error) bool {
	return errors.Is(err, ErrUploadExpired) && cl.c.OnExpired == ExpiredRecreate && cl.endpoint != nil && !cl.recreated
}

// recreate forgets the gone upload and creates a new one.
func (cl *call) recreate(ctx context.Context) error {
	cl.recreated = true
	if cl.c.Store != nil && cl.fp != "" {
		_ = cl.c.Store.Delete(ctx, cl.fp)
	}
	return cl.create(ctx)
}

// transfer is the PATCH loop from offset, with the recovery rules: a failed attempt
// that the retry decision deems recoverable is followed by a HEAD and another attempt,
// within the budget that attempts keeps; a 413 halves the chunk size.
func (cl *call) transfer(ctx context.Context, offset int64) error {
	a := newAttempts(cl.retry.MaxRetries, cl.size)
	a.confirmed(offset)
	cl.progress(offset)
	needHead := false
	for {
		var err error
		if needHead {
			var off int64
			if off, err = cl.head(ctx, false); err == nil {
				if off < a.best {
					err = a.lostBytes(off)
				}
				if err == nil {
					a.confirmed(off)
					offset, needHead = off, false
					cl.progress(offset)
					continue
				}
			}
		} else {
			if offset == cl.size {
				return nil
			}
			n := min(cl.chunk.size(), cl.size-offset)
			var next int64
			started := time.Now()
			if next, err = cl.patch(ctx, offset, n); err == nil {
				cl.chunk.sent(next-offset, time.Since(started))
				a.confirmed(next)
				gained := next - offset
				offset = next
				cl.progress(offset)
				if gained >= min(minProgress, n) || offset == cl.size {
					continue
				}
				// A reply that confirms (almost) nothing of what was sent is a failed
				// attempt, but the offset it names needs no HEAD.
				err = fmt.Errorf("%w (%d of %d)", errNoProgress, gained, n)
			} else {
				var he *HTTPError
				if errors.As(err, &he) && he.Status == http.StatusRequestEntityTooLarge && cl.chunk.tooLarge(n) {
					needHead = true
					continue // a smaller body is the fix; no backoff, no budget
				}
				needHead = true
			}
			cl.chunk.failed()
		}
		if err := cl.backoff(ctx, err, &a); err != nil {
			return err
		}
	}
}

func (cl *call) progress(offset int64) {
	if offset <= cl.reported {
		return
	}
	cl.reported = offset
	if cl.c.OnProgress != nil {
		cl.c.OnProgress(offset, cl.size)
	}
}

// head asks the server for the upload's offset. Beyond the dialect's checks, an
// offset past every byte this call sent is a lie (or another writer), except on the
// baseline HEAD that opens the call.
func (cl *call) head(ctx context.Context, baseline bool) (int64, error) {
	rep, err := cl.do(ctx, http.MethodHead, cl.upload, nil, 0, nil)
	if err != nil {
		return 0, err
	}
	off, err := cl.d.readHead(rep, cl.size)
	if err != nil {
		return 0, err
	}
	if baseline {
		cl.offered = max(cl.offered, off)
	} else if off > cl.offered {
		return 0, protocolErr("HEAD offset %d is past the %d bytes sent to this upload", off, cl.offered)
	}
	return off, nil
}

// patch sends [offset, offset+n) and returns the offset the server confirmed.
func (cl *call) patch(ctx context.Context, offset, n int64) (int64, error) {
	body, err := cl.f.ReadSection(ctx, offset, n)
	if err != nil {
		return 0, fmt.Errorf("tus: reading bytes %d-%d of %s: %w", offset, offset+n, cl.f.Name(), err)
	}
	cl.offered = max(cl.offered, offset+n)
	rep, err := cl.do(ctx, http.MethodPatch, cl.upload, body, n, func(h http.Header) {
		cl.d.appendHeaders(h, offset)
	})
	if err != nil {
		return 0, err
	}
	return cl.d.readAppend(rep, offset, n)
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
		if u, err := parseEndpoint("stored upload URL", e.URL); err == nil && u.String() == url {
			_ = cl.c.Store.Delete(ctx, e.Fingerprint)
		}
	}
}
