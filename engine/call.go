package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// call is one run of an upload: the policy it follows, the source, the session with
// the server (the upload's URL and how far it got), the Store entry, and for a
// parallel upload its parts, each sent by a call of its own (owner and index set).
type call struct {
	*policy
	session
	entry
	ev   Events
	src  Source // nil for Terminate
	in   source
	caps *capabilities // what OPTIONS said, when it was asked
	// A parallel upload: its parts (URLs as they are created), their progress, and
	// whether stored parts were taken up; partial marks a part's own call.
	mu       sync.Mutex
	parts    []Part
	partSent []int64
	resumed  bool
	partial  bool
	owner    *call
	index    int
}

// session is the upload a call sends to and how far it got.
type session struct {
	upload   *url.URL // the upload's URL, once known
	size     int64    // -1 while unknown (a stream that has not ended)
	declared bool     // the server knows the length (not deferred)
	chunk    *chunker
	expires  time.Time // the upload's Upload-Expires, once a reply named one
	reported int64     // highest offset passed to OnProgress for this upload, -1 before
	// offered: end of the highest byte range known to have been offered to the upload
	// (see open), -1 during the HEAD that opens the call.
	offered int64
	// recreated: this call already replaced an expired upload (it does so once).
	recreated bool
}

// newSession is a session on the upload at u (nil: not created yet) of size bytes.
func (p *policy) newSession(u *url.URL, size int64) session {
	return session{upload: u, size: size, declared: size >= 0, reported: -1, offered: -1,
		chunk: newChunker(p.c.ChunkSize, p.c.FixedChunkSize, p.c.TargetRequestTime)}
}

// newCall prepares a run of p with source src (may be nil) to the upload at u (nil:
// one to find in Store or to create).
func newCall(p *policy, src Source, u *url.URL, ev Events) (*call, error) {
	cl := &call{policy: p, src: src, ev: ev, session: p.newSession(u, -1)}
	if src == nil {
		return cl, nil
	}
	var err error
	if cl.in, err = newSource(src); err != nil {
		return nil, err
	}
	if _, stream := src.(Stream); stream && p.parallel() {
		return nil, fmt.Errorf("%w: parallel uploads need a File: a stream is read once, front to back", ErrInvalidOption)
	}
	cl.size, cl.declared = src.Size(), src.Size() >= 0
	if _, stream := src.(Stream); stream && p.c.ChunkSize <= 0 {
		cl.chunk = newChunker(DefaultStreamChunkSize, p.c.FixedChunkSize, p.c.TargetRequestTime)
	}
	return cl, nil
}

// begin prepares a run: it reads a stream of unknown length up to its first chunk,
// takes a File's lock (release it when done) and, when asked to or when the run needs
// it, learns the server's capabilities.
func (cl *call) begin(ctx context.Context) (func(), error) {
	creating := cl.upload == nil
	if creating && cl.size < 0 {
		if err := cl.peek(ctx); err != nil {
			return nil, err
		}
	}
	release, err := cl.lock(ctx)
	if err != nil {
		return nil, err
	}
	// OPTIONS first when asked to, for a checksum, and for a creation of unknown length:
	// a server without creation-defer-length would take the upload as complete, or as
	// one of its own maximum size (@uploadx/core), and never learn where it ends.
	c := cl.c
	if c.CheckServerCapabilities || c.Checksum != "" || creating && cl.size < 0 && cl.d.discovers() {
		target := cl.upload
		if creating {
			target = cl.endpoint
		}
		if err := cl.checkCapabilities(ctx, target, creating); err != nil {
			release()
			return nil, err
		}
	}
	return release, nil
}

// checkCapabilities sends OPTIONS and checks that the server speaks tus 1.0.0 and has
// what this call needs: creation (and creation-defer-length for a length not known
// yet) when creating, the checksum algorithm, room for the file.
func (cl *call) checkCapabilities(ctx context.Context, u *url.URL, creating bool) error {
	var rep *reply
	err := cl.retrying(ctx, func() (err error) {
		rep, err = cl.do(ctx, http.MethodOptions, u, nil, 0, nil)
		if err == nil && !success(rep.status) {
			err = rep.httpError()
		}
		return err
	})
	var he *HTTPError
	if errors.As(err, &he) && (he.Status == http.StatusNotFound || he.Status == http.StatusMethodNotAllowed || he.Status == http.StatusNotImplemented) {
		return fmt.Errorf("%w: OPTIONS %s answered %d", ErrUnsupportedServer, u, he.Status) // no OPTIONS: not a tus server
	}
	if err != nil {
		return err
	}
	caps, err := cl.d.readOptions(rep)
	if err != nil {
		return err
	}
	cl.caps = &caps
	if err := caps.suffice(cl.size, creating, cl.c.Checksum); err != nil {
		return err
	}
	return cl.bound(caps.limits)
}

// suffice checks that the server speaks tus 1.0.0 and has what a call needs: creation
// (and creation-defer-length for a size not known yet, -1) when creating, the checksum
// algorithm when one is set, and room for size bytes.
func (c *capabilities) suffice(size int64, creating bool, checksum string) error {
	lacks := func(what string) error {
		return fmt.Errorf("%w: the server lacks %s (Tus-Extension %.128q, Tus-Checksum-Algorithm %.64q)",
			ErrUnsupportedServer, what, strings.Join(c.extensions, ","), strings.Join(c.checksums, ","))
	}
	switch {
	case !c.speaks:
		return fmt.Errorf("%w: Tus-Version %.64q does not include 1.0.0", ErrUnsupportedServer, c.versions)
	case creating && !c.has("creation"):
		return lacks("the creation extension")
	case creating && size < 0 && !c.has("creation-defer-length"):
		return lacks("creation-defer-length, which a stream of unknown length needs")
	case checksum != "" && !c.has("checksum"):
		return lacks("the checksum extension")
	case checksum != "" && !slices.Contains(c.checksums, checksum):
		return lacks("the checksum algorithm " + checksum)
	case c.maxSize > 0 && size > c.maxSize:
		return fmt.Errorf("%w: the file is %d bytes, Tus-Max-Size is %d", ErrTooLarge, size, c.maxSize)
	}
	return nil
}

// has reports whether the server lists extension ext.
func (c *capabilities) has(ext string) bool { return slices.Contains(c.extensions, ext) }
