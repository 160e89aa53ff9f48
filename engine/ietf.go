package engine

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
)

// ietf is the IETF draft "Resumable Uploads for HTTP" (draft-ietf-httpbis-resumable-
// upload-05, interop version 6), as tusd serves it with EnableExperimentalProtocol.
// Its creation carries the length when known and says with Upload-Complete whether the
// body ends the upload; appends are PATCHes of application/partial-upload; the last
// one says Upload-Complete: ?1, which is also how an unknown length is declared. The
// draft has no metadata header: tusd takes the file type from Content-Type and the
// name from Content-Disposition, so those two keys are sent that way.
type ietf struct {
	contentType, disposition string
}

const (
	ietfInterop     = "6"
	ietfContentType = "application/partial-upload"
)

// newIETF checks the options against what the draft has: no concatenation (parallel
// uploads), no checksums, and metadata only as a file name and type.
func newIETF(c *Client) (ietf, error) {
	var d ietf
	switch {
	case c.ParallelUploads > 1 || len(c.ParallelBoundaries) > 0:
		return d, fmt.Errorf("%w: parallel uploads need tus concatenation, which %s lacks", ErrInvalidOption, ProtocolIETFDraft05)
	case c.Checksum != "":
		return d, fmt.Errorf("%w: checksums are a tus extension, which %s lacks", ErrInvalidOption, ProtocolIETFDraft05)
	}
	for k, v := range c.Metadata {
		switch {
		case k == "filename" && v != "":
			d.disposition = mime.FormatMediaType("attachment", map[string]string{"filename": v})
			if d.disposition == "" {
				return d, fmt.Errorf("%w: metadata filename %q cannot be a Content-Disposition", ErrInvalidOption, v)
			}
		case k == "filetype" && v != "":
			if _, _, err := mime.ParseMediaType(v); err != nil {
				return d, fmt.Errorf("%w: metadata filetype %q is not a media type: %v", ErrInvalidOption, v, err)
			}
			d.contentType = v
		case k != "filename" && k != "filetype":
			return d, fmt.Errorf("%w: metadata key %q: %s sends only filename (Content-Disposition) and filetype (Content-Type)", ErrInvalidOption, k, ProtocolIETFDraft05)
		}
	}
	return d, nil
}

// common: the interop version selects the draft on a server that speaks several.
func (ietf) common(h http.Header) { h.Set("Upload-Draft-Interop-Version", ietfInterop) }

func (d ietf) createHeaders(h http.Header, c creation) {
	if c.size >= 0 {
		h.Set("Upload-Length", strconv.FormatInt(c.size, 10))
	}
	h.Set("Upload-Complete", sfBool(c.size >= 0 && c.body == c.size))
	if d.contentType != "" {
		h.Set("Content-Type", d.contentType)
	}
	if d.disposition != "" {
		h.Set("Content-Disposition", d.disposition)
	}
}

// readCreate wants a 2xx with a Location (tusd: 201; its 104 interim reply never
// reaches fetch). As in tus, an error reply to a POST with bytes that still names the
// upload is continued after a HEAD.
func (ietf) readCreate(rep *reply, endpoint *url.URL, c creation) (*url.URL, state, error) {
	st := state{offset: -1, length: -1}
	if rep.status < 200 || rep.status > 299 {
		if c.body > 0 && rep.header.Get("Location") != "" {
			if u, err := resolveLocation(endpoint, rep.header.Get("Location")); err == nil {
				return u, st, nil
			}
		}
		return nil, st, rep.httpError()
	}
	u, err := resolveLocation(endpoint, rep.header.Get("Location"))
	if err != nil {
		return nil, st, err
	}
	st.limits = readLimits(rep)
	if c.body == 0 {
		st.offset = 0
	} else if rep.header.Get("Upload-Offset") != "" {
		if st.offset, err = patchOffset(rep.header, 0, c.body); err != nil {
			return nil, st, err
		}
	}
	return u, st, nil
}

// readHead wants Upload-Offset; Upload-Complete: ?1 fixes the length at the offset
// (a server may name no length for an upload it was never told one), ?0 without a
// length is an upload whose length is still to be declared.
func (ietf) readHead(rep *reply) (state, error) {
	st := state{offset: -1, length: -1}
	if rep.status != http.StatusOK && rep.status != http.StatusNoContent {
		return st, rep.httpError()
	}
	var err error
	if st.offset, err = parseSize("Upload-Offset", rep.header.Get("Upload-Offset")); err != nil {
		return st, err
	}
	if l := rep.header.Get("Upload-Length"); l != "" {
		if st.length, err = parseSize("Upload-Length", l); err != nil {
			return st, err
		}
	}
	complete := false
	if v := rep.header.Get("Upload-Complete"); v != "" {
		if complete, err = parseBoolean(v); err != nil {
			return st, protocolErr("Upload-Complete %.32q is not ?0 or ?1", v)
		}
	}
	switch {
	case complete && st.length < 0:
		st.length = st.offset
	case complete && st.length != st.offset:
		return st, protocolErr("HEAD says the upload is complete at offset %d of %d", st.offset, st.length)
	}
	st.deferred = st.length < 0
	st.limits = readLimits(rep)
	return st, nil
}

func (ietf) appendHeaders(h http.Header, a appending) {
	h.Set("Upload-Offset", strconv.FormatInt(a.offset, 10))
	h.Set("Content-Type", ietfContentType)
	h.Set("Upload-Complete", sfBool(a.last))
}

// readAppend wants a 2xx naming the new offset (tusd: 204 with Upload-Offset).
func (ietf) readAppend(rep *reply, offset, n int64) (state, error) {
	st := state{offset: -1, length: -1}
	if rep.status < 200 || rep.status > 299 {
		return st, rep.httpError()
	}
	var err error
	st.offset, err = patchOffset(rep.header, offset, n)
	return st, err
}

func (ietf) readDelete(rep *reply) error { return tus1{}.readDelete(rep) }

func (ietf) concatenation() bool { return false }

// discovers: the draft defines no discovery; a creation needs no extension.
func (ietf) discovers() bool { return false }

// readOptions: the draft defines no discovery, but tusd answers OPTIONS with its
// Upload-Limit. A 2xx is taken as the draft's features (creation with or without a
// body or a length, cancellation), and the limits bound the file and the chunks.
func (ietf) readOptions(rep *reply) (capabilities, error) {
	c := capabilities{speaks: true, versions: "ietf-draft-05",
		extensions: []string{"creation", "creation-with-upload", "creation-defer-length", "termination"}}
	if rep.status < 200 || rep.status > 299 {
		return c, fmt.Errorf("%w: OPTIONS %s answered %d", ErrUnsupportedServer, rep.url, rep.status)
	}
	c.limits = readLimits(rep)
	return c, nil
}

// readLimits reads a reply's Upload-Limit; one that does not parse is ignored, as RFC
// 8941 says of a malformed structured field: the limits only tune the upload.
func readLimits(rep *reply) limits {
	l, err := parseUploadLimit(rep.header.Get("Upload-Limit"))
	if err != nil || rep.header.Get("Upload-Limit") == "" {
		return limits{}
	}
	return l
}

func sfBool(b bool) string {
	if b {
		return "?1"
	}
	return "?0"
}
