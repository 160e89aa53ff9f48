package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// What the module carries, by Go package: the wasm built as `make build` does but with
// its names kept (no -s -w), its code section's function bodies summed per package from
// the name section. Brotli is each package's code compressed alone, an upper bound of
// its share of the shipped module (which compresses across packages too).

// pkgSize is one package's code in the module.
type pkgSize struct {
	Package string `json:"package"`
	Funcs   int    `json:"functions"`
	Bytes   int    `json:"code_bytes"`
	Brotli  int    `json:"code_brotli_bytes"`
}

// wasmPackages builds the module with names and returns its packages, largest first.
func wasmPackages() ([]pkgSize, error) {
	dir, err := os.MkdirTemp("", "tuswasm-names-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "names.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-gcflags=all=-l", "-tags", "nethttpomithttp2", "-o", out, "github.com/tuswasm/tuswasm/wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the wasm with names: %w: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	bodies, names, imported, err := readWasm(b)
	if err != nil {
		return nil, err
	}
	paths, err := wasmDeps()
	if err != nil {
		return nil, err
	}
	code := map[string]*bytes.Buffer{}
	funcs := map[string]int{}
	for i, body := range bodies {
		p := goPackage(names[uint32(imported+i)], paths)
		if code[p] == nil {
			code[p] = &bytes.Buffer{}
		}
		code[p].Write(body)
		funcs[p]++
	}
	var pkgs []pkgSize
	for p, buf := range code {
		pkgs = append(pkgs, pkgSize{Package: p, Funcs: funcs[p], Bytes: buf.Len(), Brotli: brotliSize(buf.Bytes())})
	}
	slices.SortFunc(pkgs, func(a, b pkgSize) int { return b.Bytes - a.Bytes })
	return pkgs, nil
}

// wasmDeps maps the packages the module is built from, as the name section spells
// them ("/" as "_", main as "main"), to their import paths.
func wasmDeps() (map[string]string, error) {
	cmd := exec.Command("go", "list", "-deps", "github.com/tuswasm/tuswasm/wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	paths := map[string]string{"main": "github.com/tuswasm/tuswasm/wasm (main)"}
	for _, p := range strings.Fields(string(out)) {
		paths[strings.ReplaceAll(p, "/", "_")] = p
	}
	return paths, nil
}

// goPackage is the package of a function named sym in the name section: the longest
// package followed by "." ("net_http.(*Transport).roundTrip" → "net/http"); "(other)"
// for the linker's own (type hashes, wrappers).
func goPackage(sym string, paths map[string]string) string {
	best := ""
	for i := range len(sym) {
		if sym[i] == '.' {
			if _, ok := paths[sym[:i]]; ok {
				best = sym[:i]
			}
		}
	}
	if best == "" {
		return "(other)"
	}
	return paths[best]
}

// readWasm returns a module's function bodies (code section), its function names
// (name section) and how many functions are imported (their indices come first).
func readWasm(b []byte) (bodies [][]byte, names map[uint32]string, imported int, err error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, nil, 0, errors.New("not a wasm module")
	}
	r := &wasmReader{b: b[8:]}
	names = map[uint32]string{}
	for r.err == nil && len(r.b) > 0 {
		id := r.byte()
		sec := &wasmReader{b: r.bytes(int(r.uint()))}
		switch id {
		case 2: // imports: count the functions
			for n := sec.uint(); n > 0 && sec.err == nil; n-- {
				sec.name()
				sec.name()
				if kind := sec.byte(); kind == 0 {
					imported++
					sec.uint()
				} else {
					sec.skipImport(kind)
				}
			}
		case 10: // code
			for n := sec.uint(); n > 0 && sec.err == nil; n-- {
				bodies = append(bodies, sec.bytes(int(sec.uint())))
			}
		case 0: // custom: the name section's function names
			if sec.name() != "name" {
				continue
			}
			for sec.err == nil && len(sec.b) > 0 {
				sub, body := sec.byte(), &wasmReader{b: sec.bytes(int(sec.uint()))}
				if sub != 1 {
					continue
				}
				for n := body.uint(); n > 0 && body.err == nil; n-- {
					idx := uint32(body.uint())
					names[idx] = body.name()
				}
			}
		}
		if sec.err != nil {
			return nil, nil, 0, sec.err
		}
	}
	return bodies, names, imported, r.err
}

// wasmReader reads a wasm binary's LEB128 numbers, names and byte runs; the first
// failure sticks.
type wasmReader struct {
	b   []byte
	err error
}

func (r *wasmReader) fail() { r.err, r.b = errors.New("truncated wasm"), nil }

func (r *wasmReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *wasmReader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *wasmReader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.fail()
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *wasmReader) name() string { return string(r.bytes(int(r.uint()))) }

// skipImport skips a table (1), memory (2) or global (3) import's description.
func (r *wasmReader) skipImport(kind byte) {
	limits := func() {
		if r.byte()&1 == 1 {
			r.uint()
		}
		r.uint()
	}
	switch kind {
	case 1:
		r.byte()
		limits()
	case 2:
		limits()
	case 3:
		r.byte()
		r.byte()
	default:
		r.err = fmt.Errorf("unknown import kind %d", kind)
	}
}
