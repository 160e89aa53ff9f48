package engine

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// tus1 is tus 1.0.0 (https://tus.io/protocols/resumable-upload): the core protocol
// plus the creation and termination extensions.
type tus1 struct{}

const tusVersion = "1.0.0"

func (tus1) common(h http.Header) { h.Set("Tus-Resumable", tusVersion) }

func (tus1) createHeaders(h http.Header, size int64, metadata string) {
	h.Set("Upload-Length", strconv.FormatInt(size, 10))
	if metadata != "" {
		h.Set("Upload-Metadata", metadata)
	}
}

func (d tus1) readCreate(rep *reply, endpoint *url.URL) (*url.URL, error) {
	if rep.status != http.StatusCreated {
		if rep.status >= 200 && rep.status < 300 {
			return nil, protocolErr("POST %s answered %d, want 201 Created: is it a tus endpoint?", endpoint, rep.status)
		}
		return nil, rep.httpError()
	}
	if err := d.checkVersion(rep); err != nil {
		return nil, err
	}
	return resolveLocation(endpoint, rep.header.Get("Location"))
}

func (d tus1) readHead(rep *reply, size int64) (int64, error) {
	if rep.status != http.StatusOK && rep.status != http.StatusNoContent {
		return 0, rep.httpError()
	}
	if err := d.checkVersion(rep); err != nil {
		return 0, err
	}
	return headOffset(rep.header, size)
}

func (tus1) appendHeaders(h http.Header, offset int64) {
	h.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	h.Set("Content-Type", "application/offset+octet-stream")
}

func (d tus1) readAppend(rep *reply, offset, n int64) (int64, error) {
	if rep.status != http.StatusNoContent {
		if rep.status >= 200 && rep.status < 300 {
			return 0, protocolErr("PATCH answered %d, want 204 No Content", rep.status)
		}
		return 0, rep.httpError()
	}
	if err := d.checkVersion(rep); err != nil {
		return 0, err
	}
	return patchOffset(rep.header, offset, n)
}

// readDelete accepts 204 (the protocol's answer), 200, and 404 or 410: an upload that
// is already gone is what termination wanted.
func (tus1) readDelete(rep *reply) error {
	switch rep.status {
	case http.StatusNoContent, http.StatusOK, http.StatusNotFound, http.StatusGone:
		return nil
	}
	return rep.httpError()
}

func (tus1) readOptions(rep *reply, size int64, creating bool) error {
	if rep.status != http.StatusOK && rep.status != http.StatusNoContent {
		return fmt.Errorf("%w: OPTIONS %s answered %d", ErrUnsupportedServer, rep.url, rep.status)
	}
	return checkCapabilities(rep.header, size, creating)
}

// checkVersion requires Tus-Resumable: 1.0.0 on a reply: its absence is how a web
// page, a proxy's error page or a CORS policy that hides the header shows itself.
func (tus1) checkVersion(rep *reply) error {
	switch v := rep.header.Get("Tus-Resumable"); v {
	case tusVersion:
		return nil
	case "":
		return protocolErr("%s %s: reply has no Tus-Resumable header (not a tus server, or CORS does not expose it)", rep.method, rep.url)
	default:
		return protocolErr("%s %s: reply has Tus-Resumable %.32q, want 1.0.0", rep.method, rep.url, v)
	}
}
