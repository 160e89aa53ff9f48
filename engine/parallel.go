package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Parallel uploads (the concatenation extension): a File is split into parts, each
// uploaded at the same time as a partial upload by the same machinery as a whole file
// (adaptive chunks, retries, recovery, re-creation when it expired); when all are
// complete, one final upload made of them carries the metadata. Each part resumes on
// its own: Store keeps the part URLs (never headers or metadata), so a pause or a
// reload re-sends only what each part had not confirmed.

// Part is one byte range [Start, End) of a parallel upload and, once created, the URL
// of its partial upload.
type Part struct {
	Start int64  `json:"start"`
	End   int64  `json:"end"`
	URL   string `json:"url,omitempty"`
	// Offered is the end of the bytes offered to the part's upload (see
	// StoredUpload.Offered), relative to Start.
	Offered int64 `json:"offered,omitempty"`
}

// MaxParallelParts bounds ParallelUploads and the number of ParallelBoundaries: each
// part is an upload on the server and a request in flight at once.
const MaxParallelParts = 64

// splitParts is ParallelBoundaries when set (checked to cover [0, size) in order, none
// empty), else n even parts of size bytes, never an empty one.
func splitParts(size int64, n int, bounds []Part) ([]Part, error) {
	if len(bounds) > 0 {
		var at int64
		for i, b := range bounds {
			if b.Start != at || b.End <= b.Start {
				return nil, fmt.Errorf("%w: parallel boundary %d is [%d,%d), want it to start at %d and not be empty", ErrInvalidOption, i, b.Start, b.End, at)
			}
			at = b.End
		}
		if at != size {
			return nil, fmt.Errorf("%w: the parallel boundaries end at %d, the file at %d", ErrInvalidOption, at, size)
		}
		return append([]Part(nil), bounds...), nil
	}
	n = int(min(int64(n), max(size, 1)))
	parts := make([]Part, n)
	for i := range parts {
		parts[i] = Part{Start: size * int64(i) / int64(n), End: size * int64(i+1) / int64(n)}
	}
	return parts, nil
}

// uploadParallel uploads the file in parts (known: those an earlier run of the
// Upload made; otherwise the ones Store keeps, or new ones), or as one upload when
// OPTIONS shows a server without the concatenation extension (a fallback, not an error).
func (cl *call) uploadParallel(ctx context.Context, known []Part) (Result, error) {
	if cl.caps == nil {
		if err := cl.checkCapabilities(ctx, cl.endpoint, true); err != nil {
			return Result{}, err
		}
	}
	parts := known
	if len(parts) == 0 {
		var err error
		if parts, err = splitParts(cl.size, cl.c.ParallelUploads, cl.c.ParallelBoundaries); err != nil {
			return Result{}, err
		}
	}
	if !cl.caps.has("concatenation") || len(parts) < 2 {
		return cl.sequential(ctx)
	}
	cl.prune(ctx)
	if len(known) == 0 {
		cl.resumeParts(ctx, parts)
	}
	cl.parts = parts
	if err := cl.uploadParts(ctx); err != nil {
		return Result{}, err
	}
	res, err := cl.concatenate(ctx)
	if rejoinable(err) {
		// A part went missing (expired, deleted) or short since it completed: each is
		// asked again, the gone ones re-created and re-sent, and the join tried once more.
		if err = cl.uploadParts(ctx); err == nil {
			res, err = cl.concatenate(ctx)
		}
	}
	return res, err
}

// rejoinable reports whether a final POST failed in a way a part can cause: tusd
// answers 404 when one is gone and 400 when one is not complete.
func rejoinable(err error) bool {
	var he *HTTPError
	if !errors.As(err, &he) {
		return false
	}
	switch he.Status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusGone:
		return true
	}
	return false
}

// sequential is CreateAndUpload's path for one upload.
func (cl *call) sequential(ctx context.Context) (Result, error) {
	cl.prune(ctx)
	if res, ok, err := cl.resumeStored(ctx); ok || err != nil {
		return res, err
	}
	offset, err := cl.create(ctx, true)
	if err != nil {
		return Result{}, err
	}
	return cl.finish(ctx, offset)
}

// resumeParts takes the part URLs Store keeps for this file, when the entry is of
// use: the same ranges, fresh, on origins this call trusts.
func (cl *call) resumeParts(ctx context.Context, parts []Part) {
	if cl.c.Store == nil || cl.fp == "" {
		return
	}
	prev, found, err := cl.c.Store.Get(ctx, cl.fp)
	if err != nil || !found {
		return
	}
	usable := prev.Fingerprint == cl.fp && prev.Size == cl.size && len(prev.Parts) == len(parts) && !prev.stale(time.Now().UTC(), cl.c.storeMaxAge())
	for i := 0; usable && i < len(parts); i++ {
		p := prev.Parts[i]
		usable = p.Start == parts[i].Start && p.End == parts[i].End
		if u, err := parseEndpoint("stored part URL", p.URL); p.URL != "" && (err != nil || !cl.trusts(u)) {
			usable = false
		}
	}
	if !usable {
		_ = cl.c.Store.Delete(ctx, cl.fp)
		return
	}
	for i := range parts {
		parts[i].URL, parts[i].Offered = prev.Parts[i].URL, prev.Parts[i].Offered
	}
	cl.created, cl.expires, cl.resumed = prev.CreatedAt, prev.ExpiresAt, true
	cl.parts = parts
	cl.touch(ctx)
}

// uploadParts runs every part at once; the first failure stops the others (their
// URLs stay stored, so the next call resumes them).
func (cl *call) uploadParts(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(cl.parts))
	for i := range cl.parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = cl.uploadPart(ctx, i); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	// The error that ended it, rather than the cancellations it caused.
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	return first
}

// uploadPart creates (or continues) part i and sends its bytes.
func (cl *call) uploadPart(ctx context.Context, i int) error {
	sub := cl.part(i)
	var offset int64
	var err error
	if sub.upload == nil {
		offset, err = sub.create(ctx, true)
	} else if offset, err = sub.open(ctx); dishonoured(err) {
		// Gone, refused or of another length: as for a whole upload's stored entry, the
		// part is made anew rather than failing every later call.
		offset, err = sub.recreate(ctx)
	}
	if err != nil {
		return err
	}
	_, err = sub.finish(ctx, offset)
	return err
}

// part is the call that uploads part i: the same policy, its own chunks, budget and
// recovery; its progress, creations and re-creations reach this call.
func (cl *call) part(i int) *call {
	p := cl.parts[i]
	pc := *cl.c // the part's own policy: no Store, lock or metadata of its own
	pc.Store, pc.Lock, pc.Metadata = nil, nil, nil
	pc.ParallelUploads, pc.ParallelBoundaries, pc.OnExpired = 0, nil, ExpiredRecreate
	pp := *cl.policy
	pp.c, pp.metadata = &pc, ""
	f := &partFile{File: cl.src.(File), start: p.Start, size: p.End - p.Start}
	sub := &call{policy: &pp, session: pp.newSession(nil, f.size), src: f, in: fileSource{f}, caps: cl.caps,
		partial: true, owner: cl, index: i, ev: Events{
			OnCreate:   func(u string) { cl.partCreated(i, u) },
			OnProgress: func(sent, _ int64) { cl.partProgress(i, sent) },
		}}
	if p.URL != "" {
		sub.upload, _ = parseEndpoint("part URL", p.URL)
		sub.storedOffer = min(max(p.Offered, 0), f.size) // storage is not trusted input
	}
	return sub
}

// partCreated records part i's (new) URL and stores it.
func (cl *call) partCreated(i int, u string) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.parts[i].URL, cl.parts[i].Offered = u, 0
	if cl.created.IsZero() {
		cl.created = time.Now().UTC()
	}
	cl.remember(context.Background())
}

// partProgress reports the sum over the parts, each at the highest offset it
// reached: monotonic, so a part re-created after it expired holds its share until it
// passes it again.
func (cl *call) partProgress(i int, sent int64) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.partSent == nil {
		cl.partSent = make([]int64, len(cl.parts))
	}
	cl.partSent[i] = max(cl.partSent[i], sent)
	var sum int64
	for _, n := range cl.partSent {
		sum += n
	}
	cl.progress(sum)
}

// concatenate creates the final upload from the complete parts; it carries the
// metadata. Store forgets the upload once it exists.
func (cl *call) concatenate(ctx context.Context) (Result, error) {
	urls := make([]string, len(cl.parts))
	for i, p := range cl.parts {
		urls[i] = p.URL
	}
	err := cl.retrying(ctx, func() error {
		c := creation{size: -1, metadata: cl.metadata, final: urls}
		rep, err := cl.doWithin(ctx, cl.joinDeadline(), http.MethodPost, cl.endpoint, nil, 0, func(h http.Header) { cl.d.createHeaders(h, c) })
		if err != nil {
			return err
		}
		u, st, err := cl.d.readCreate(rep, cl.endpoint, c)
		if err == nil {
			cl.upload, cl.expires = u, st.expires
		}
		return err
	})
	if err != nil {
		return Result{}, err
	}
	loc := cl.upload.String()
	if cl.ev.OnCreate != nil {
		cl.ev.OnCreate(loc)
	}
	if cl.ev.OnUploadURL != nil {
		cl.ev.OnUploadURL(loc)
	}
	cl.progress(cl.size)
	if cl.c.Store != nil && cl.fp != "" {
		_ = cl.c.Store.Delete(ctx, cl.fp)
	}
	return Result{URL: loc, Size: cl.size, Resumed: cl.resumed, ExpiresAt: cl.expires, StoreFailed: cl.storeFailed, Parts: len(cl.parts)}, nil
}

// joinRate is the pace assumed of a server joining parts: tusd's filestore reads and
// writes every byte of them in the final POST; 4 MiB/s is a slow disk.
const joinRate = 4 << 20 // bytes per second

// joinDeadline is how long the final POST may take: what any request gets, and at
// least the floor plus the time to copy the file at joinRate. A join cut short is sent
// again, and tus has no way to find the final upload the first one may have made.
func (cl *call) joinDeadline() time.Duration {
	d := cl.deadline(0)
	if d <= 0 {
		return 0
	}
	floor := cl.c.StallTimeout
	if floor <= 0 {
		floor = DefaultStallTimeout
	}
	return max(d, floor+time.Duration(float64(cl.size)/joinRate*float64(time.Second)))
}

// partFile is a File's range as a File of its own.
type partFile struct {
	File
	start, size int64
}

func (f *partFile) Size() int64 { return f.size }

func (f *partFile) ReadSection(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	if off < 0 || n < 0 || off+n > f.size {
		return nil, fmt.Errorf("tus: section [%d,%d) outside a part of %d bytes", off, off+n, f.size)
	}
	return f.File.ReadSection(ctx, f.start+off, n)
}
