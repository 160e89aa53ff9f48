//go:build js && wasm

package main

// The JS API's contract, checked where it is declared: the option table against
// index.d.ts, and the engine's error codes against index.js, index.d.ts and the README.
// Run under Node (make test-wasm): GOOS=js GOARCH=wasm go test -exec=go_js_wasm_exec.

import (
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hack-pad/safejs"
	"github.com/tuswasm/tuswasm/engine"
)

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dtsKeys resolves the option keys each exported function declares in index.d.ts:
// its options parameter's type, interfaces followed through extends and &.
func dtsKeys(t *testing.T, dts string) map[string][]string {
	t.Helper()
	ifaces := map[string][]string{} // own keys, then "extends:<Name>" entries
	ifaceRe := regexp.MustCompile(`(?ms)^export interface (\w+)(?: extends ([\w, ]+))? \{\n(.*?)^\}`)
	keyRe := regexp.MustCompile(`(?m)^  (?:readonly )?(\w+)\??:`)
	for _, m := range ifaceRe.FindAllStringSubmatch(dts, -1) {
		var keys []string
		for _, k := range keyRe.FindAllStringSubmatch(m[3], -1) {
			keys = append(keys, k[1])
		}
		for _, base := range strings.Split(m[2], ",") {
			if base = strings.TrimSpace(base); base != "" {
				keys = append(keys, "extends:"+base)
			}
		}
		ifaces[m[1]] = keys
	}
	var resolve func(name string) []string
	resolve = func(name string) []string {
		own, ok := ifaces[name]
		if !ok {
			t.Fatalf("index.d.ts has no interface %s", name)
		}
		var out []string
		for _, k := range own {
			if base, ok := strings.CutPrefix(k, "extends:"); ok {
				out = append(out, resolve(base)...)
			} else {
				out = append(out, k)
			}
		}
		return out
	}
	out := map[string][]string{}
	fnRe := regexp.MustCompile(`(?m)^export declare function (\w+)\((.*)\):`)
	for _, m := range fnRe.FindAllStringSubmatch(dts, -1) {
		_, typ, found := strings.Cut(m[2], "options?: ")
		if !found {
			_, typ, found = strings.Cut(m[2], "options: ")
		}
		if !found || m[1] == "init" {
			continue
		}
		var keys []string
		for _, part := range strings.Split(typ, " & ") {
			part = strings.TrimSpace(part)
			if inline, ok := strings.CutPrefix(part, "{ "); ok {
				name, _, _ := strings.Cut(inline, ":")
				keys = append(keys, strings.TrimSuffix(name, "?"))
				continue
			}
			keys = append(keys, resolve(part)...)
		}
		slices.Sort(keys)
		out[m[1]] = slices.Compact(keys)
	}
	return out
}

func TestOptionTableMatchesTypeDeclarations(t *testing.T) {
	declared := dtsKeys(t, readRepoFile(t, "js/index.d.ts"))
	table := optionKeys()
	if len(declared) != len(table) {
		t.Errorf("index.d.ts declares options for %d functions, the table for %d", len(declared), len(table))
	}
	for fn, keys := range table {
		slices.Sort(keys)
		if !slices.Equal(keys, declared[fn]) {
			t.Errorf("%s:\n  table     %v\n  index.d.ts %v", fn, keys, declared[fn])
		}
	}
}

func TestErrorCodesMatchEverywhere(t *testing.T) {
	var want []string
	for _, c := range engine.Codes() {
		want = append(want, c.Code)
	}
	want = append(want, "INIT") // the loader's own: index.js throws it before Go runs
	slices.Sort(want)
	list := func(re, text string) []string {
		var out []string
		for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(text, -1) {
			out = append(out, m[1])
		}
		slices.Sort(out)
		return out
	}
	js := readRepoFile(t, "js/index.js")
	codes, _, _ := strings.Cut(js[strings.Index(js, "export const codes"):], "])")
	dts := readRepoFile(t, "js/index.d.ts")
	union, _, _ := strings.Cut(dts[strings.Index(dts, "export type TusErrorCode"):], "\n\n")
	for name, got := range map[string][]string{
		"index.js codes":           list(`'([A-Z_]+)'`, codes),
		"index.d.ts TusErrorCode":  list(`'([A-Z_]+)'`, union),
		"README's table of errors": list("(?m)^\\| `([A-Z_]+)` \\|", readRepoFile(t, "README.md")),
	} {
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v\nengine.Codes() and INIT: %v", name, got, want)
		}
	}
	// The README's rows say what the table says.
	readme := readRepoFile(t, "README.md")
	for _, c := range engine.Codes() {
		if row := "| `" + c.Code + "` | " + c.Meaning + " |"; !strings.Contains(readme, row) {
			t.Errorf("README lacks the row\n%s", row)
		}
	}
}

// Options are checked by the table: unknown keys (with the nearest known one named),
// keys of another function, wrong types (booleans must be booleans, numbers finite).
func TestOptionsRejected(t *testing.T) {
	obj := func(js string) safejs.Value {
		v, err := safejs.Global().Call("eval", "("+js+")")
		if err != nil {
			t.Fatalf("eval %s: %v", js, err)
		}
		return v
	}
	cases := []struct {
		in      scope
		opts    string
		mention string // the message must say this
	}{
		{inCreateAndUpload, `{chunksize: 1024}`, `did you mean "chunkSize"`},
		{inCreateAndUpload, `{checkServerCapabilites: true}`, `did you mean "checkServerCapabilities"`},
		{inCreateAndUpload, `{useFileLock: "false"}`, "useFileLock must be a boolean, not a string"},
		{inCreateAndUpload, `{chunkSize: NaN}`, "chunkSize must be a positive number of bytes, not NaN"},
		{inCreateAndUpload, `{chunkSize: Infinity}`, "not Infinity"},
		{inCreateAndUpload, `{chunkSize: 0}`, "chunkSize"},
		{inCreateAndUpload, `{retry: {maxRetrys: 3}}`, `retry.maxRetrys (did you mean "retry.maxRetries"?)`},
		{inCreateAndUpload, `{retry: {maxRetries: -1}}`, "retry.maxRetries must be a non-negative number"},
		{inCreateAndUpload, `{metadata: {a: 1}}`, "metadata.a must be a string, not a number"},
		{inCreateAndUpload, `{headers: ['x']}`, "headers must be an object of strings or a function, not an array"},
		{inCreateAndUpload, `{storage: 'local'}`, "storage must be false, null, 'memory', 'indexeddb' or an object"},
		{inCreateAndUpload, `{storage: {get() {}}}`, "needs a set method"},
		{inCreateAndUpload, `{credentials: 'always'}`, "credentials must be 'omit', 'same-origin' or 'include'"},
		{inCreateAndUpload, `{signal: {aborted: false}}`, "signal must be an AbortSignal"},
		{inCreateAndUpload, `{uploadUrl: 'http://x/files/1'}`, `createAndUpload does not take the option "uploadUrl"`},
		{inCreate, `{onProgress() {}}`, `create does not take the option "onProgress"`},
		{inTerminate, `{chunkSize: 1}`, `terminate does not take the option "chunkSize"`},
		{inList, `{endpoint: 'http://x/'}`, `listUploads does not take the option "endpoint"`},
		{inCreateAndUpload, `"fast"`, "options must be an object, not a string"},
		{inCreateAndUpload, `[1]`, "options must be an object, not an array"},
	}
	for _, tc := range cases {
		_, err := newCall(tc.in, safejs.Undefined(), obj(tc.opts), safejs.Undefined())
		if !errors.Is(err, engine.ErrInvalidOption) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s %s: got %v, want INVALID_OPTION mentioning %q", scopeNames[tc.in], tc.opts, err, tc.mention)
		}
	}
	// Undefined values count as absent; the Upload class's subset mode skips keys of
	// other functions but still rejects unknown ones.
	for _, ok := range []string{`{chunkSize: undefined, signal: undefined}`, `undefined`, `null`, `{storage: false}`, `{storage: 'memory'}`} {
		if _, err := newCall(inCreateAndUpload, safejs.Undefined(), obj(ok), safejs.Undefined()); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	subset := obj(`{subset: true}`)
	if _, err := newCall(inTerminate, safejs.Undefined(), obj(`{chunkSize: 5, endpoint: 'http://x/files/'}`), subset); err != nil {
		t.Errorf("subset: %v", err)
	}
	if _, err := newCall(inTerminate, safejs.Undefined(), obj(`{chunksize: 5}`), subset); !errors.Is(err, engine.ErrInvalidOption) {
		t.Errorf("subset with a typo: %v", err)
	}
	c, err := newCall(inCreateAndUpload, safejs.Undefined(), obj(`{chunkSize: 1000, adaptiveChunkSize: false, retry: {maxRetries: 0}, useFileLock: true}`), safejs.Undefined())
	if err != nil || c.client.ChunkSize != 1000 || !c.client.FixedChunkSize || c.client.Retry.MaxRetries != -1 || c.client.Lock == nil {
		t.Errorf("decoded %+v, %v", c, err)
	}
}
