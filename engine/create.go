package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// create POSTs a new upload and returns the offset the server holds. With data, the
// first chunk travels in the POST (creation-with-upload) unless that is disabled,
// OPTIONS showed a server without the extension, or a checksum is asked for; a server
// or proxy that refuses a POST with bytes gets it once more without. -1 is an offset
// to ask for with a HEAD (a server that ignored the bytes, or failed after naming the
// upload). The upload is remembered in Store and reported.
func (cl *call) create(ctx context.Context, data bool) (int64, error) {
	withData := data && !cl.c.DisableCreationWithUpload && cl.c.Checksum == "" &&
		(cl.caps == nil || cl.caps.has("creation-with-upload"))
	if cl.size < 0 && cl.caps != nil && !cl.caps.has("creation-defer-length") {
		return 0, fmt.Errorf("%w: the server lacks creation-defer-length, which a stream of unknown length needs", ErrUnsupportedServer)
	}
	offset, err := cl.post(ctx, withData)
	if withData && refusesData(err) {
		offset, err = cl.post(ctx, false)
	}
	if err != nil {
		return 0, err
	}
	cl.reported, cl.created, cl.storedOffer = -1, time.Now().UTC(), 0 // a new upload: no earlier entry's offer
	cl.declared = cl.size >= 0                                        // the creation said the length when it knew it
	loc := cl.upload.String()
	cl.renewAt = time.Time{} // a new upload: its entry is written now
	cl.touch(ctx)
	if cl.ev.OnCreate != nil {
		cl.ev.OnCreate(loc)
	}
	if cl.ev.OnUploadURL != nil {
		cl.ev.OnUploadURL(loc)
	}
	return offset, nil
}

// post sends the creation request, with the first chunk when withData, retrying.
func (cl *call) post(ctx context.Context, withData bool) (int64, error) {
	offset := int64(-1)
	err := cl.retrying(ctx, func() error {
		c := creation{size: cl.size, metadata: cl.metadata, partial: cl.partial}
		var body io.ReadCloser
		if withData {
			b, got, _, err := cl.in.read(ctx, 0, cl.chunk.size())
			if err != nil {
				return err
			}
			body, c.body = b, got
		}
		started := time.Now()
		rep, err := cl.do(ctx, http.MethodPost, cl.endpoint, body, c.body, func(h http.Header) { cl.d.createHeaders(h, c) })
		if err != nil {
			return err
		}
		u, st, err := cl.d.readCreate(rep, cl.endpoint, c)
		if err != nil {
			return err
		}
		cl.upload, cl.offered, cl.expires, offset = u, 0, st.expires, st.offset
		cl.offer(c.body) // a new upload: nothing was offered to it before this POST
		if err := cl.bound(st.limits); err != nil {
			// An upload the server says it will not take whole: not left behind.
			_ = cl.deleteUpload(ctx, u, false)
			return err
		}
		if offset > 0 {
			cl.chunk.sent(offset, time.Since(started))
		}
		return nil
	})
	return offset, err
}

// refusesData reports whether a creation POST that carried bytes failed for that
// reason, as far as a status can tell: a final 4xx that is not about the caller's
// rights or the endpoint (415, 400, 411, 413 from a proxy's body limit, …) or a 501.
func refusesData(err error) bool {
	var he *HTTPError
	if !errors.As(err, &he) || Recoverable(err) {
		return false
	}
	switch he.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		return false
	}
	return he.Status >= 400 && he.Status < 500 || he.Status == http.StatusNotImplemented
}

// peek reads a stream of unknown length up to the first chunk: one that ends there
// has a known length, so its upload needs no deferral.
func (cl *call) peek(ctx context.Context) error {
	body, got, end, err := cl.in.read(ctx, 0, cl.chunk.size())
	if err != nil {
		return err
	}
	body.Close()
	if end {
		return cl.ends(got)
	}
	return nil
}

// ends records that the source ends at total: a stream's length becomes known, and a
// length that differs from what the source or server said is a changed file.
func (cl *call) ends(total int64) error {
	if cl.size >= 0 && total != cl.size {
		return fmt.Errorf("%w: %s ended at %d bytes, not %d", ErrFileChanged, cl.src.Name(), total, cl.size)
	}
	cl.size = total
	return nil
}

// recreates reports whether err (the upload is gone) is to be met, per OnExpired, with
// a new upload. That happens once per call, and only for a File: a stream cannot send
// its released bytes again.
func (cl *call) recreates(err error) bool {
	_, file := cl.in.(fileSource)
	return errors.Is(err, ErrUploadExpired) && cl.c.OnExpired == ExpiredRecreate && cl.endpoint != nil && !cl.recreated && file
}

// recreate forgets the gone upload and creates a new one.
func (cl *call) recreate(ctx context.Context) (int64, error) {
	cl.recreated = true
	if cl.c.Store != nil && cl.fp != "" {
		_ = cl.c.Store.Delete(ctx, cl.fp)
	}
	cl.expires = time.Time{}
	return cl.create(ctx, true)
}
