package engine

import (
	"context"
	"net/url"
	"sync"
)

// Events are one upload's callbacks, each optional. They are called from the
// goroutine running the upload (a parallel upload's from its parts' goroutines, one at
// a time) and must return promptly.
type Events struct {
	// OnCreate receives a new upload's URL before its first byte is sent.
	OnCreate func(url string)
	// OnUploadURL receives the URL of the upload a run sends to: after creating it, and
	// after the first HEAD when continuing one (from Store or a known URL). When a run
	// has to start over with a new upload (the old one expired), it reports the new URL
	// before progress starts again from 0.
	OnUploadURL func(url string)
	// OnProgress receives the bytes the server has confirmed of the current upload:
	// monotonic, at least once per chunk, ending at total. It goes back only after
	// OnUploadURL has announced a new upload.
	OnProgress func(sent, total int64)
}

// Upload is one file's upload under a Client's policy. Run sends it; cancelling Run's
// context pauses it, and another Run continues the same upload (the one created, or
// resumed from Store, or given), so a pause never makes a second creation. Terminate
// deletes it. An Upload is safe for concurrent use: a Run or Terminate waits for the
// run before it to end.
type Upload struct {
	p      *policy
	src    Source
	events Events

	run   sync.Mutex // held by a Run or Terminate
	mu    sync.Mutex // guards at and parts
	at    UploadURL  // the upload's URL and whether a server gave it, once known
	parts []Part     // a parallel upload's parts, once an earlier run made them
}

// NewUpload prepares src's upload: to the upload at at when its URL is set (a URL the
// caller wrote extends the trust its origin gets; see UploadURL), otherwise to one
// Store remembers, or a new one. Options are checked here: nothing is sent.
func (c *Client) NewUpload(src Source, at UploadURL, ev Events) (*Upload, error) {
	p, err := c.newPolicy(at)
	if err != nil {
		return nil, err
	}
	if _, err := newCall(p, src, nil, ev); err != nil {
		return nil, err
	}
	return &Upload{p: p, src: src, events: ev, at: at}, nil
}

// URL is the upload's URL once a run created or found it (empty before).
func (u *Upload) URL() UploadURL {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.at
}

// Run sends the file, from the offset the server reports: to the upload this Upload
// knows, else to one Store remembers for the file and endpoint if the server still
// honours it, else to a new one (in parts when the policy says so). It returns at once
// when the upload is already complete. A Stream continues where a paused run left it.
func (u *Upload) Run(ctx context.Context) (Result, error) {
	u.run.Lock()
	defer u.run.Unlock()
	cl, release, err := u.begin(ctx, false)
	if err != nil {
		return Result{}, err
	}
	defer release()
	res, err := cl.runUpload(ctx, u.knownParts())
	u.keep(cl)
	if err != nil {
		cl.endLease(ctx)
	}
	return res, err
}

// Create makes a new upload at the Endpoint and returns its URL, sending none of the
// file's bytes (a Stream is read up to its first chunk, to learn whether its length is
// known; a Run then continues from its first byte).
func (u *Upload) Create(ctx context.Context) (string, error) {
	u.run.Lock()
	defer u.run.Unlock()
	cl, release, err := u.begin(ctx, true)
	if err != nil {
		return "", err
	}
	defer release()
	if _, err := cl.create(ctx, false); err != nil {
		return "", err
	}
	u.keep(cl)
	return cl.upload.String(), nil
}

// Terminate deletes the upload on the server, whatever this Upload knows of it: the
// upload a run created or found (a final upload's parts too), or an unfinished
// parallel upload's parts, or what Store keeps for the file; and forgets it in Store.
// An upload already gone counts as deleted. Cancel a running Run first: Terminate
// waits for it to end.
func (u *Upload) Terminate(ctx context.Context) error {
	u.run.Lock()
	defer u.run.Unlock()
	at, parts := u.URL(), u.knownParts()
	switch {
	case at.URL != "":
		return u.p.terminate(ctx, at)
	case parts != nil:
		return u.p.terminateParts(ctx, u.src, parts)
	}
	f, ok := u.src.(File)
	if !ok || u.p.c.Store == nil {
		return nil // a stream is never stored: nothing is known to delete
	}
	prev, err := u.p.c.FindPreviousUploads(ctx, f)
	if err != nil || len(prev) == 0 {
		return err
	}
	return u.p.deleteStored(ctx, prev[0])
}

// begin makes the call for a run (or a creation): to the upload this Upload knows.
func (u *Upload) begin(ctx context.Context, createOnly bool) (*call, func(), error) {
	var at *url.URL
	if s := u.URL(); s.URL != "" {
		at, _ = parseEndpoint("upload URL", s.URL) // checked in NewUpload, or a server's checked when read
	}
	cl, err := newCall(u.p, u.src, at, u.events)
	if err != nil {
		return nil, nil, err
	}
	cl.createOnly = createOnly
	release, err := cl.begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	return cl, release, nil
}

// keep remembers what a run learnt for the next: the upload's URL (a server's, unless
// it is the caller's own) and a parallel upload's parts.
func (u *Upload) keep(cl *call) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if cl.upload != nil && cl.upload.String() != u.at.URL {
		u.at = UploadURL{URL: cl.upload.String(), FromServer: true}
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.parts != nil && cl.upload == nil {
		u.parts = append([]Part(nil), cl.parts...)
	}
}

func (u *Upload) knownParts() []Part {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Part(nil), u.parts...)
}

// runUpload is a run: a known upload continued (re-created when it expired, per
// OnExpired), known parts continued, or CreateAndUpload's choice of resuming or
// creating, in parts or whole.
func (cl *call) runUpload(ctx context.Context, parts []Part) (Result, error) {
	switch {
	case cl.upload != nil:
		offset, err := cl.open(ctx)
		if cl.recreates(err) {
			offset, err = cl.recreate(ctx)
		}
		if err != nil {
			return Result{}, err
		}
		return cl.finish(ctx, offset)
	case len(parts) > 0 || cl.parallel():
		return cl.uploadParallel(ctx, parts)
	}
	return cl.sequential(ctx)
}
