package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// open asks the server where the existing upload cl.upload stands (HEAD, retried) and
// reports its URL. That first HEAD is bounded by the length only: another tab, or an
// earlier page, may have sent more than this process knows of. Later HEADs may claim
// no more than the most offered to the upload as far as the call knows (Offers, the
// Store entry, that first offset) and the bytes sent since.
func (cl *call) open(ctx context.Context) (int64, error) {
	cl.offered = -1
	var offset int64
	err := cl.retrying(ctx, func() (err error) {
		offset, err = cl.head(ctx, true)
		return err
	})
	if err != nil {
		return 0, err
	}
	cl.offer(max(cl.c.Offers.lookup(cl.upload.String()), cl.storedOffer, offset))
	if cl.ev.OnUploadURL != nil {
		cl.ev.OnUploadURL(cl.upload.String())
	}
	return offset, nil
}

// finish sends the source to cl.upload from offset (-1: ask first) and, per
// OnExpired, re-creates an upload that disappeared. Store forgets the upload once it
// is complete.
func (cl *call) finish(ctx context.Context, offset int64) (Result, error) {
	err := cl.transfer(ctx, offset)
	if cl.recreates(err) {
		if offset, err = cl.recreate(ctx); err == nil {
			err = cl.transfer(ctx, offset)
		}
	}
	if err != nil {
		return Result{}, err
	}
	cl.c.Offers.forget(cl.upload.String())
	if cl.c.Store != nil && cl.fp != "" {
		_ = cl.c.Store.Delete(ctx, cl.fp)
	}
	return Result{URL: cl.upload.String(), Size: cl.size, ExpiresAt: cl.expires, StoreFailed: cl.storeFailed, Parts: 1}, nil
}

// transfer is the PATCH loop from offset (-1: ask with a HEAD first), with the
// recovery rules: a failed attempt that the retry decision deems recoverable is
// followed by a HEAD and another attempt, within the budget that attempts keeps; a 413
// halves the chunk size.
func (cl *call) transfer(ctx context.Context, offset int64) error {
	a := newAttempts(cl.retry.MaxRetries, cl.chunk.max)
	needHead := offset < 0
	if !needHead {
		a.confirmed(offset, cl.size)
		cl.progress(offset)
	}
	for {
		var err error
		if needHead {
			var off int64
			if off, err = cl.recover(ctx, &a); err == nil {
				offset, needHead = off, false
				continue
			}
		} else {
			if offset == cl.size && cl.declared {
				return nil
			}
			n := cl.chunk.size()
			if cl.size >= 0 {
				n = min(n, cl.size-offset)
			}
			var next, sent int64
			started := time.Now()
			if next, sent, err = cl.patch(ctx, offset, n); err == nil {
				if next-offset < sent {
					cl.chunk.partial(next - offset) // the server takes less at a time
				} else {
					cl.chunk.sent(sent, time.Since(started))
				}
				a.confirmed(next, cl.size)
				gained := next - offset
				offset = next
				cl.progress(offset)
				if gained >= min(minProgress, sent) || offset == cl.size {
					continue
				}
				// A reply that confirms (almost) nothing of what was sent is a failed
				// attempt, but the offset it names needs no HEAD.
				err = fmt.Errorf("%w (%d of %d)", errNoProgress, gained, sent)
			} else {
				var he *HTTPError
				if errors.As(err, &he) && he.Status == http.StatusRequestEntityTooLarge && cl.chunk.tooLarge(sent) {
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

// recover asks the server where the upload stands after a failed attempt (HEAD) and
// takes that offset, unless the server lost bytes it had confirmed once too often.
func (cl *call) recover(ctx context.Context, a *attempts) (int64, error) {
	off, err := cl.head(ctx, false)
	if err == nil && off < a.best {
		err = a.lostBytes(off)
	}
	if err != nil {
		return 0, err
	}
	a.confirmed(off, cl.size)
	cl.progress(off)
	return off, nil
}

func (cl *call) progress(offset int64) {
	if offset <= cl.reported {
		return
	}
	cl.reported = offset
	cl.in.confirmed(offset)
	if cl.ev.OnProgress != nil {
		cl.ev.OnProgress(offset, cl.size)
	}
}

// head asks the server for the upload's offset and judges the reply against the
// source: the length must match (a stream of unknown length takes it from a server
// that was told it), and an offset past every byte this call sent is a lie (or another
// writer), except on the baseline HEAD that opens the call.
func (cl *call) head(ctx context.Context, baseline bool) (int64, error) {
	rep, err := cl.do(ctx, http.MethodHead, cl.upload, nil, 0, nil)
	if err != nil {
		return 0, err
	}
	st, err := cl.d.readHead(rep)
	if err != nil {
		return 0, err
	}
	if cl.size, err = judgeHead(st, cl.size, cl.offered, baseline); err != nil {
		return 0, err
	}
	if err := cl.bound(st.limits); err != nil {
		return 0, err
	}
	switch { // the server knows the length when it names it; it waits for it when it says so
	case st.length >= 0:
		cl.declared = true
	case st.deferred:
		cl.declared = false
	}
	cl.expire(ctx, st.expires)
	return st.offset, nil
}

// judgeHead checks a HEAD's state against a source of size bytes (-1: not known yet,
// then the server's length is taken) and the bytes offered to the upload (-1: not
// known). baseline marks the HEAD that opens a call. It returns the size.
func judgeHead(st state, size, offered int64, baseline bool) (int64, error) {
	switch {
	case st.length >= 0 && size < 0 && !baseline:
		// Past the baseline, a stream of unknown length has declared none: a length
		// (IETF draft: Upload-Complete: ?1) would end it early, unread bytes and all.
		return size, protocolErr("HEAD names a length (%d) this call never declared", st.length)
	case st.length >= 0 && size < 0:
		size = st.length
	case st.length >= 0 && st.length != size:
		return size, fmt.Errorf("%w: the server's upload is %d bytes long, the source %d", errLengthMismatch, st.length, size)
	}
	switch {
	case size >= 0 && st.offset > size:
		return size, protocolErr("HEAD offset %d is past the size %d", st.offset, size)
	case offered >= 0 && st.offset > offered:
		return size, protocolErr("HEAD offset %d is past the %d bytes ever offered to this upload", st.offset, offered)
	}
	return size, nil
}

// patch sends up to n bytes from offset and returns the offset the server confirmed
// and how many bytes it sent. When the source ends within them and the server does not
// know the length yet, the request declares it.
func (cl *call) patch(ctx context.Context, offset, n int64) (next, sent int64, err error) {
	body, got, end, err := cl.in.read(ctx, offset, n)
	if err != nil {
		return 0, 0, err
	}
	if cl.caps != nil && cl.caps.maxSize > 0 && offset+got > cl.caps.maxSize {
		// A stream of unknown length past Tus-Max-Size: servers check the length only
		// once it is declared, at the end.
		body.Close()
		return 0, 0, fmt.Errorf("%w: the stream goes past %d bytes, Tus-Max-Size", ErrTooLarge, cl.caps.maxSize)
	}
	if end {
		if err := cl.ends(offset + got); err != nil {
			body.Close()
			return 0, got, err
		}
	}
	a := appending{offset: offset, declare: -1, last: cl.size >= 0 && offset+got == cl.size}
	if cl.size >= 0 && !cl.declared {
		a.declare = cl.size
	}
	if cl.c.Checksum != "" {
		if a.sum, err = cl.sum(ctx, offset, got); err != nil {
			body.Close()
			return 0, got, err
		}
	}
	cl.offer(offset + got)
	cl.touch(ctx)
	rep, err := cl.do(ctx, http.MethodPatch, cl.upload, body, got, func(h http.Header) { cl.d.appendHeaders(h, a) })
	if err != nil {
		return 0, got, err
	}
	st, err := cl.d.readAppend(rep, offset, got)
	if err != nil {
		return 0, got, err
	}
	if a.declare >= 0 {
		cl.declared = true
	}
	cl.expire(ctx, st.expires)
	return st.offset, got, nil
}

// offer records, before they are sent, that bytes up to end are offered to the upload
// (the Store entry follows in touch).
func (cl *call) offer(end int64) {
	cl.offered = max(cl.offered, end)
	cl.c.Offers.note(cl.upload.String(), cl.offered)
}

// expire records the upload's expiry from a reply that names one, in Store too.
func (cl *call) expire(ctx context.Context, t time.Time) {
	if t.IsZero() || t.Equal(cl.expires) {
		return
	}
	cl.expires = t
	cl.remember(ctx)
}

// deleteUpload sends DELETE to u, retrying; with parts, it asks first (HEAD, retried)
// whether u is a final upload and deletes its parts after it: a HEAD that fails other
// than with "gone" fails the call before anything is deleted, since the parts could
// not be found again. A part that cannot be deleted does not stop the others; the
// error names what was left.
func (cl *call) deleteUpload(ctx context.Context, u *url.URL, parts bool) error {
	var st state
	if parts {
		err := cl.retrying(ctx, func() error {
			rep, err := cl.do(ctx, http.MethodHead, u, nil, 0, nil)
			if err == nil {
				st, err = cl.d.readHead(rep)
			}
			return err
		})
		if err != nil && !errors.Is(err, ErrUploadExpired) {
			return fmt.Errorf("tus: finding the parts of %s before deleting it: %w", u, err)
		}
	}
	if err := cl.deleteOne(ctx, u); err != nil {
		return err
	}
	if err := cl.deleteEach(ctx, st.parts); err != nil {
		return fmt.Errorf("tus: deleted %s, but %w", u, err)
	}
	if st.partsLeft > 0 {
		return protocolErr("deleted %s and %d of its parts; %d more it names (on another origin, or past the first %d) were left", u, len(st.parts), st.partsLeft, maxParts)
	}
	return nil
}

// deleteEach deletes every upload in urls, going on past one it cannot delete; the
// error names those left and wraps the first failure.
func (cl *call) deleteEach(ctx context.Context, urls []*url.URL) error {
	var left []string
	var first error
	for _, u := range urls {
		if err := cl.deleteOne(ctx, u); err != nil {
			if ctx.Err() != nil {
				return err
			}
			left, first = append(left, u.String()), cmp.Or(first, err)
		}
	}
	if first != nil {
		return fmt.Errorf("not %d of %d uploads (%.512s): %w", len(left), len(urls), strings.Join(left, " "), first)
	}
	return nil
}

// deleteOne sends DELETE to u, retrying.
func (cl *call) deleteOne(ctx context.Context, u *url.URL) error {
	return cl.retrying(ctx, func() error {
		rep, err := cl.do(ctx, http.MethodDelete, u, nil, 0, nil)
		if err != nil {
			return err
		}
		return cl.d.readDelete(rep)
	})
}
