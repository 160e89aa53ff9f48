package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// limits is what a server of the IETF draft announces in Upload-Limit: sizes in bytes
// of the whole upload and of one append; -1 where it names none.
type limits struct {
	known                bool // an Upload-Limit was parsed (the zero value is "none")
	maxSize, minSize     int64
	maxAppend, minAppend int64
}

// maxStreamAppend is the largest min-append-size a Stream honours (or its ChunkSize,
// when larger): a stream keeps every byte of a request in memory, so a server's
// minimum must not make it buffer without bound.
const maxStreamAppend = 64 << 20

// bound applies a server's limits to the call: a file above max-size fails at once
// (ErrTooLarge), and the append sizes bound the chunk size. min-size is not acted on:
// no file can grow to meet it. A min-append-size a stream cannot buffer is
// ErrUnsupportedServer.
func (cl *call) bound(l limits) error {
	if !l.known {
		return nil
	}
	if l.maxSize >= 0 && cl.size > l.maxSize {
		return fmt.Errorf("%w: the file is %d bytes, the server's Upload-Limit max-size is %d", ErrTooLarge, cl.size, l.maxSize)
	}
	if _, stream := cl.in.(streamSource); stream && l.minAppend > max(maxStreamAppend, cl.c.ChunkSize) {
		return fmt.Errorf("%w: the server's Upload-Limit min-append-size is %d bytes, more than a stream buffers for one request (%d)",
			ErrUnsupportedServer, l.minAppend, max(maxStreamAppend, cl.c.ChunkSize))
	}
	cl.chunk.bound(max(l.minAppend, 0), max(l.maxAppend, 0))
	return nil
}

// errSyntax: a structured field that does not parse (RFC 8941 says to ignore it).
var errSyntax = errors.New("structured field syntax")

// parseUploadLimit reads an Upload-Limit dictionary (RFC 8941), e.g.
// "max-size=1000, max-append-size=100". Members it does not know, and known ones whose
// value is not a non-negative integer, are skipped; a minimum above its maximum is
// dropped. A field that is not a dictionary is an error (callers ignore the field).
func parseUploadLimit(v string) (limits, error) {
	l := limits{known: true, maxSize: -1, minSize: -1, maxAppend: -1, minAppend: -1}
	if len(v) > 1024 {
		return limits{}, errSyntax
	}
	p := sfParser{s: strings.Trim(v, " \t")}
	for !p.done() {
		key, ok := p.key()
		if !ok {
			return limits{}, errSyntax
		}
		val := int64(-1)
		if p.eat('=') {
			n, isInt, ok := p.bareItem()
			if !ok {
				return limits{}, errSyntax
			}
			if isInt && n >= 0 {
				val = n
			}
		}
		if !p.params() {
			return limits{}, errSyntax
		}
		switch key {
		case "max-size":
			l.maxSize = val
		case "min-size":
			l.minSize = val
		case "max-append-size":
			l.maxAppend = val
		case "min-append-size":
			l.minAppend = val
		}
		p.ows()
		if p.done() {
			break
		}
		if !p.eat(',') {
			return limits{}, errSyntax
		}
		p.ows()
		if p.done() {
			return limits{}, errSyntax // a trailing comma
		}
	}
	if l.maxSize >= 0 && l.minSize > l.maxSize {
		l.minSize = -1
	}
	if l.maxAppend >= 0 && l.minAppend > l.maxAppend {
		l.minAppend = -1
	}
	return l, nil
}

// parseBoolean reads a structured-field boolean ("?0", "?1"; parameters ignored), as
// in Upload-Complete.
func parseBoolean(v string) (bool, error) {
	p := sfParser{s: strings.Trim(v, " \t")}
	if !p.eat('?') || p.done() {
		return false, errSyntax
	}
	b := p.s[p.i]
	if b != '0' && b != '1' {
		return false, errSyntax
	}
	p.i++
	if !p.params() || !p.done() {
		return false, errSyntax
	}
	return b == '1', nil
}

// sfParser walks the parts of RFC 8941 the draft's headers use.
type sfParser struct {
	s string
	i int
}

func (p *sfParser) done() bool { return p.i >= len(p.s) }

func (p *sfParser) eat(c byte) bool {
	if !p.done() && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *sfParser) ows() {
	for !p.done() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// key reads lcalpha / "*" then lcalpha, digits, "_-.*".
func (p *sfParser) key() (string, bool) {
	start := p.i
	if p.done() || !(p.s[p.i] >= 'a' && p.s[p.i] <= 'z' || p.s[p.i] == '*') {
		return "", false
	}
	for p.i++; !p.done(); p.i++ {
		c := p.s[p.i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_-.*", c) >= 0) {
			break
		}
	}
	return p.s[start:p.i], true
}

// bareItem reads one item, returning its value when it is an integer.
func (p *sfParser) bareItem() (n int64, isInt, ok bool) {
	if p.done() {
		return 0, false, false
	}
	switch c := p.s[p.i]; {
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == '"':
		return 0, false, p.str()
	case c == '?':
		p.i++
		return 0, false, p.eat('0') || p.eat('1')
	case c == ':':
		end := strings.IndexByte(p.s[p.i+1:], ':')
		if end < 0 {
			return 0, false, false
		}
		p.i += end + 2
		return 0, false, true
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '*':
		for p.i++; !p.done(); p.i++ {
			c := p.s[p.i]
			if c <= ' ' || c >= 0x7f || strings.IndexByte(`",;()<=>?@[\]{}`, c) >= 0 {
				break
			}
		}
		return 0, false, true
	}
	return 0, false, false
}

// number reads an integer (n, isInt) or a decimal (valid, but no size).
func (p *sfParser) number() (n int64, isInt, ok bool) {
	start := p.i
	p.eat('-')
	digits := p.i
	for !p.done() && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '.') {
		p.i++
	}
	num := p.s[start:p.i]
	if p.i == digits || p.s[p.i-1] == '.' {
		return 0, false, false
	}
	if strings.Contains(num, ".") {
		return 0, false, strings.Count(num, ".") == 1
	}
	if p.i-digits > 15 {
		return 0, false, false
	}
	v, err := strconv.ParseInt(num, 10, 64)
	return v, err == nil, err == nil
}

// str skips a quoted string, reporting whether it is well formed.
func (p *sfParser) str() bool {
	for p.i++; !p.done(); p.i++ {
		switch p.s[p.i] {
		case '\\':
			p.i++
			if p.done() || p.s[p.i] != '"' && p.s[p.i] != '\\' {
				return false
			}
		case '"':
			p.i++
			return true
		default:
			if p.s[p.i] < 0x20 || p.s[p.i] >= 0x7f {
				return false
			}
		}
	}
	return false
}

// params skips parameters: *( ";" *SP key [ "=" bare-item ] ).
func (p *sfParser) params() bool {
	for p.eat(';') {
		for p.eat(' ') {
		}
		if _, ok := p.key(); !ok {
			return false
		}
		if p.eat('=') {
			if _, _, ok := p.bareItem(); !ok {
				return false
			}
		}
	}
	return true
}
