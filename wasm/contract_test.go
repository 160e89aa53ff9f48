//go:build js && wasm

package main

// The JS API's contract, checked where it is declared: the option table against
// index.d.ts, and the engine's error codes against errors.js, index.d.ts and the README.
// Run under Node (make test-wasm): GOOS=js GOARCH=wasm go test -exec=go_js_wasm_exec.

import (
	"context"
	"os"
	"path/filepath"
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

// jsOptions imports js/options.js (Node runs this test) for its table.
func jsOptions(t *testing.T) safejs.Value {
	t.Helper()
	abs, err := filepath.Abs("../js/options.js")
	if err != nil {
		t.Fatal(err)
	}
	p, err := safejs.Global().Call("eval", "import('file://"+abs+"')")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := await(context.Background(), p)
	if err != nil {
		t.Fatalf("importing js/options.js: %v", err)
	}
	return mod
}

// The option table (js/options.js) declares, per function, the keys index.d.ts does;
// the Go side applies every key of it.
func TestOptionTableMatchesTypeDeclarations(t *testing.T) {
	declared := dtsKeys(t, readRepoFile(t, "js/index.d.ts"))
	mod := jsOptions(t)
	keysOf, _ := mod.Get("keysOf")
	for fn, want := range declared {
		v, err := keysOf.Invoke(fn)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := v.Length()
		var keys []string
		for i := range n {
			k, _ := v.Index(i)
			s, _ := k.String()
			keys = append(keys, s)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Errorf("%s:\n  options.js %v\n  index.d.ts %v", fn, keys, want)
		}
	}
	table, _ := mod.Get("table")
	all, _ := ownKeys(table)
	applied := optionKeys()
	for _, k := range all {
		if !slices.Contains(applied, k) {
			t.Errorf("options.js has %q, which wasm/options.go does not apply", k)
		}
	}
	if len(applied) != len(all) {
		t.Errorf("wasm/options.go applies %v, options.js has %v", applied, all)
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
	js := readRepoFile(t, "js/errors.js")
	codes, _, _ := strings.Cut(js[strings.Index(js, "export const codes"):], "])")
	dts := readRepoFile(t, "js/index.d.ts")
	union, _, _ := strings.Cut(dts[strings.Index(dts, "export type TusErrorCode"):], "\n\n")
	for name, got := range map[string][]string{
		"errors.js codes":          list(`'([A-Z_]+)'`, codes),
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

// Options are checked by the table (js/options.js): unknown keys (with the nearest
// known one named), keys of another function, wrong types (booleans must be booleans,
// numbers finite); and the Go side applies what passed.
func TestOptionsRejected(t *testing.T) {
	obj := func(js string) safejs.Value {
		v, err := safejs.Global().Call("eval", "("+js+")")
		if err != nil {
			t.Fatalf("eval %s: %v", js, err)
		}
		return v
	}
	check, _ := jsOptions(t).Get("check")
	cases := []struct {
		fn      string
		opts    string
		mention string // the message must say this
	}{
		{"createAndUpload", `{chunksize: 1024}`, `did you mean "chunkSize"`},
		{"createAndUpload", `{checkServerCapabilites: true}`, `did you mean "checkServerCapabilities"`},
		{"createAndUpload", `{useFileLock: "false"}`, "useFileLock must be a boolean, not a string"},
		{"createAndUpload", `{chunkSize: NaN}`, "chunkSize must be a positive number of bytes, not NaN"},
		{"createAndUpload", `{chunkSize: Infinity}`, "not Infinity"},
		{"createAndUpload", `{chunkSize: 0}`, "chunkSize"},
		{"createAndUpload", `{retry: {maxRetrys: 3}}`, `retry.maxRetrys (did you mean "retry.maxRetries"?)`},
		{"createAndUpload", `{retry: {maxRetries: -1}}`, "retry.maxRetries must be a non-negative number"},
		{"createAndUpload", `{metadata: {a: 1}}`, "metadata.a is a number"},
		{"createAndUpload", `{metadata: new Map()}`, "not a Map"},
		{"createAndUpload", `{headers: ['x']}`, "headers must be an object of strings or a function, not an array"},
		{"createAndUpload", `{storage: 'local'}`, "storage must be false, null, 'memory', 'indexeddb' or an object"},
		{"createAndUpload", `{storage: {get() {}}}`, "no set method"},
		{"createAndUpload", `{credentials: 'always'}`, "credentials must be 'omit', 'same-origin' or 'include'"},
		{"createAndUpload", `{signal: {aborted: false}}`, "signal must be an AbortSignal"},
		{"createAndUpload", `{uploadUrl: 'http://x/files/1'}`, `createAndUpload does not take the option "uploadUrl"`},
		{"createAndUpload", `{waitForLock: true}`, "waitForLock needs useFileLock"},
		{"create", `{onProgress() {}}`, `create does not take the option "onProgress"`},
		{"terminate", `{chunkSize: 1}`, `terminate does not take the option "chunkSize"`},
		{"listUploads", `{endpoint: 'http://x/'}`, `listUploads does not take the option "endpoint"`},
		{"createAndUpload", `"fast"`, "options must be an object, not a string"},
		{"createAndUpload", `[1]`, "options must be an object, not an array"},
	}
	for _, tc := range cases {
		v, err := check.Invoke(tc.fn, obj(tc.opts))
		msg, _ := getString(v, "message")
		if code, _ := getString(v, "code"); err != nil || code != "INVALID_OPTION" || !strings.Contains(msg, tc.mention) {
			t.Errorf("%s %s: got %q (%v), want INVALID_OPTION mentioning %q", tc.fn, tc.opts, msg, err, tc.mention)
		}
	}
	// Undefined values count as absent; the Upload class takes createAndUpload's keys
	// and uploadUrl.
	for fn, ok := range map[string]string{"createAndUpload": `{chunkSize: undefined, signal: undefined, storage: 'memory'}`,
		"create": `undefined`, "terminate": `null`, "Upload": `{uploadUrl: 'http://x/1', parallelUploads: 2}`} {
		if v, err := check.Invoke(fn, obj(ok)); err != nil || !v.IsNull() {
			t.Errorf("%s %s: %v %v", fn, ok, v, err)
		}
	}
	c, err := newCall(safejs.Undefined(), obj(`{chunkSize: 1000, adaptiveChunkSize: false, retry: {maxRetries: 0}, useFileLock: true}`))
	if err != nil || c.client.ChunkSize != 1000 || !c.client.FixedChunkSize || c.client.Retry.MaxRetries != -1 || c.client.Lock == nil {
		t.Errorf("decoded %+v, %v", c, err)
	}
}
