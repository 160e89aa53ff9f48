//go:build js && wasm

package main

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/tuswasm/tuswasm/engine"
)

// How each option sets up a call. host.js has checked every options object against
// js/options.js's table (keys, types, which function takes which) before it crossed
// into Go, as esbuild checks options in JavaScript before its Go service sees them;
// this table only applies them, and a test holds its keys to that table's.

// option is one key and how it sets up a call from its (checked) value.
type option struct {
	key   string
	apply func(c *call, v safejs.Value) error
}

var options []option // filled in init: apply functions refer to the table's helpers

func init() {
	options = []option{
		{"endpoint", func(c *call, v safejs.Value) (err error) {
			c.client.Endpoint, err = v.String()
			return err
		}},
		{"protocol", func(c *call, v safejs.Value) (err error) {
			c.client.Protocol, err = v.String()
			return err
		}},
		{"uploadUrl", func(c *call, v safejs.Value) (err error) {
			c.uploadURL, err = v.String()
			return err
		}},
		{"metadata", func(c *call, v safejs.Value) (err error) {
			c.client.Metadata, err = stringMap(v, "metadata")
			return err
		}},
		{"headers", readHeaders},
		{"allowedOrigins", func(c *call, v safejs.Value) (err error) {
			c.client.AllowedOrigins, err = stringArray(v, "allowedOrigins")
			return err
		}},
		{"credentials", func(c *call, v safejs.Value) (err error) {
			c.client.Credentials, err = v.String()
			return err
		}},
		{"chunkSize", func(c *call, v safejs.Value) error {
			n, err := v.Float()
			c.client.ChunkSize = int64(min(n, 1<<40))
			return err
		}},
		{"adaptiveChunkSize", func(c *call, v safejs.Value) error {
			adaptive, err := v.Bool()
			c.client.FixedChunkSize = !adaptive
			return err
		}},
		{"uploadDataDuringCreation", func(c *call, v safejs.Value) error {
			data, err := v.Bool()
			c.client.DisableCreationWithUpload = !data
			return err
		}},
		{"uploadSize", func(c *call, v safejs.Value) error {
			n, err := v.Float()
			c.uploadSize = int64(n)
			return err
		}},
		{"parallelUploads", func(c *call, v safejs.Value) error {
			n, err := v.Float()
			c.client.ParallelUploads = int(min(n, 1<<30)) // the engine refuses above its cap
			return err
		}},
		{"parallelUploadBoundaries", readBoundaries},
		{"checksum", func(c *call, v safejs.Value) (err error) {
			c.client.Checksum, err = v.String()
			return err
		}},
		{"requestTimeoutMs", func(c *call, v safejs.Value) error {
			ms, err := v.Float()
			c.client.RequestTimeout = time.Duration(ms * float64(time.Millisecond))
			return err
		}},
		{"checkServerCapabilities", func(c *call, v safejs.Value) (err error) {
			c.client.CheckServerCapabilities, err = v.Bool()
			return err
		}},
		{"useFileLock", func(c *call, v safejs.Value) (err error) {
			c.useLock, err = v.Bool()
			return err
		}},
		{"waitForLock", func(c *call, v safejs.Value) (err error) {
			c.waitLock, err = v.Bool()
			return err
		}},
		{"retry", readRetry},
		{"storage", readStorage},
		{"onExpired", func(c *call, v safejs.Value) error {
			if s, _ := v.String(); s == "recreate" {
				c.client.OnExpired = engine.ExpiredRecreate
			}
			return nil
		}},
		{"onCreate", func(c *call, fn safejs.Value) error {
			c.events.OnCreate = func(u string) { c.notify(fn, u) }
			return nil
		}},
		{"onUploadUrlAvailable", func(c *call, fn safejs.Value) error {
			c.events.OnUploadURL = func(u string) { c.notify(fn, u) }
			return nil
		}},
		{"onProgress", func(c *call, fn safejs.Value) error {
			c.events.OnProgress = func(sent, total int64) {
				if total < 0 {
					c.notify(fn, float64(sent), nil) // a stream whose length is not known yet
					return
				}
				c.notify(fn, float64(sent), float64(total))
			}
			return nil
		}},
		{"onBeforeRequest", readBeforeRequest},
		{"onAfterResponse", readAfterResponse},
		{"onShouldRetry", readShouldRetry},
		{"retryDelays", readRetryDelays},
		{"fingerprint", readFingerprint},
		{"storageMaxAgeMs", func(c *call, v safejs.Value) error {
			ms, err := v.Float()
			switch {
			case math.IsInf(ms, 1):
				c.client.StoreMaxAge = -1
			case ms == 0:
				c.client.StoreMaxAge = time.Nanosecond // everything is stale at once
			default: // at least 1 ns: a zero duration means the default age
				c.client.StoreMaxAge = max(time.Duration(min(ms, 1e15)*float64(time.Millisecond)), time.Nanosecond)
			}
			return err
		}},
		{"signal", func(c *call, v safejs.Value) error { return c.watchSignal(v) }},
	}
}

// retryKeys are the keys of the retry object, each a number.
var retryKeys = []string{"maxRetries", "initialDelayMs", "maxDelayMs", "factor"}

// readOptions applies opts (undefined, null or a checked plain object) to c, in table
// order rather than the caller's: the signal is watched last, after every other key
// had its chance to fail. A key whose value is undefined counts as absent.
func readOptions(c *call, opts safejs.Value) error {
	if isNullish(opts) {
		return nil
	}
	for _, o := range options {
		v, err := opts.Get(o.key)
		if err != nil || v.IsUndefined() {
			continue
		}
		if err := o.apply(c, v); err != nil {
			return fmt.Errorf("%w: option %s: %w", engine.ErrInvalidOption, o.key, err)
		}
	}
	if c.waitLock && !c.useLock {
		return badOption("waitForLock needs useFileLock: true")
	}
	return nil
}

// optionKeys lists the keys this table applies (for the test that holds it to
// js/options.js's table).
func optionKeys() []string {
	keys := make([]string, len(options))
	for i, o := range options {
		keys[i] = o.key
	}
	return keys
}

func badOption(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{engine.ErrInvalidOption}, args...)...)
}

// Type tests.

func isString(v safejs.Value) bool   { return v.Type() == safejs.TypeString }
func isBoolean(v safejs.Value) bool  { return v.Type() == safejs.TypeBoolean }
func isFunction(v safejs.Value) bool { return v.Type() == safejs.TypeFunction }

// isObject: an object that is not an array, a function or null.
func isObject(v safejs.Value) bool {
	return v.Type() == safejs.TypeObject && !isArray(v)
}

func isArray(v safejs.Value) bool {
	ok, err := jsArray.Call("isArray", v)
	return err == nil && isTrue(ok)
}

func isNumber(v safejs.Value) bool {
	if v.Type() != safejs.TypeNumber {
		return false
	}
	f, err := v.Float()
	return err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// isCount: a positive integer.
func isCount(v safejs.Value) bool {
	f, _ := v.Float()
	return isPositive(v) && f == math.Trunc(f)
}

// readBoundaries reads parallelUploadBoundaries: [{start, end}, …] of byte offsets.
func readBoundaries(c *call, arr safejs.Value) error {
	n, err := arr.Length()
	if err != nil {
		return err
	}
	for i := range n {
		b, _ := arr.Index(i)
		var p engine.Part
		for key, to := range map[string]*int64{"start": &p.Start, "end": &p.End} {
			v, err := b.Get(key)
			if err != nil || !isNumber(v) {
				return fmt.Errorf("parallelUploadBoundaries[%d].%s must be a number of bytes", i, key)
			}
			f, _ := v.Float()
			*to = int64(f)
		}
		c.client.ParallelBoundaries = append(c.client.ParallelBoundaries, p)
	}
	return nil
}

func isInfinity(v safejs.Value) bool {
	f, err := v.Float()
	return v.Type() == safejs.TypeNumber && err == nil && math.IsInf(f, 1)
}

func isPositive(v safejs.Value) bool {
	f, _ := v.Float()
	return isNumber(v) && f >= 1
}

func isNonNegative(v safejs.Value) bool {
	f, _ := v.Float()
	return isNumber(v) && f >= 0
}

func isAbortSignal(v safejs.Value) bool {
	ok, err := v.InstanceOf(jsAbortSignal)
	return err == nil && ok
}

func oneOf(values ...string) func(safejs.Value) bool {
	return func(v safejs.Value) bool {
		s, err := v.String()
		return isString(v) && err == nil && slices.Contains(values, s)
	}
}

func either(tests ...func(safejs.Value) bool) func(safejs.Value) bool {
	return func(v safejs.Value) bool {
		for _, t := range tests {
			if t(v) {
				return true
			}
		}
		return false
	}
}

// describe names a value's type for an error message.
func describe(v safejs.Value) string {
	switch {
	case v.IsNull():
		return "null"
	case isArray(v):
		return "an array"
	case v.Type() == safejs.TypeNumber && !isNumber(v):
		s, _ := safejs.Global().Call("String", v) // NaN, Infinity
		str, _ := s.String()
		return str
	}
	t := v.Type().String()
	if strings.ContainsAny(t[:1], "aeiou") {
		return "an " + t
	}
	return "a " + t
}

// ownKeys is Object.keys(v).
func ownKeys(v safejs.Value) ([]string, error) {
	arr, err := jsObject.Call("keys", v)
	if err != nil {
		return nil, err
	}
	n, err := arr.Length()
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, n)
	for i := range n {
		k, _ := arr.Index(i)
		s, _ := k.String()
		keys = append(keys, s)
	}
	return keys, nil
}

// stringMap reads a plain object of string values ({filename: "a"}). A Headers, Map or
// other iterable is refused: its entries are no own keys, so it would read as empty.
func stringMap(obj safejs.Value, what string) (map[string]string, error) {
	if isIterable(obj) {
		name := "iterable"
		if c, err := obj.Get("constructor"); err == nil {
			name, _ = getString(c, "name")
		}
		return nil, fmt.Errorf("%s must be a plain object of strings, not a %s (Object.fromEntries(…) makes one)", what, name)
	}
	keys, err := ownKeys(obj)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		v, err := obj.Get(k)
		if err != nil {
			return nil, err
		}
		if !isString(v) {
			return nil, fmt.Errorf("%s.%s must be a string, not %s", what, k, describe(v))
		}
		m[k], _ = v.String()
	}
	return m, nil
}

// stringArray reads an array of strings.
func stringArray(arr safejs.Value, what string) ([]string, error) {
	n, err := arr.Length()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, n)
	for i := range n {
		v, _ := arr.Index(i)
		if !isString(v) {
			return nil, fmt.Errorf("%s[%d] must be a string, not %s", what, i, describe(v))
		}
		s, _ := v.String()
		out = append(out, s)
	}
	return out, nil
}

// header turns a map of strings into an http.Header.
func header(m map[string]string) http.Header {
	h := http.Header{}
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

func readRetry(c *call, rv safejs.Value) error {
	keys, err := ownKeys(rv)
	if err != nil {
		return err
	}
	r := &c.client.Retry
	for _, k := range keys {
		v, _ := rv.Get(k)
		if v.IsUndefined() || !slices.Contains(retryKeys, k) {
			continue // checked by options.js
		}
		n, _ := v.Float()
		ms := time.Duration(n * float64(time.Millisecond))
		switch k {
		case "maxRetries":
			r.MaxRetries = int(min(n, 1<<20)) // the engine's bound; a float beyond int is undefined
			if n == 0 {
				r.MaxRetries = -1 // the engine's zero means "default"; JS's 0 means none
			}
		case "initialDelayMs":
			r.InitialDelay = ms
		case "maxDelayMs":
			r.MaxDelay = ms
		case "factor":
			r.Factor = n
		}
	}
	return nil
}

// readRetryDelays reads tus-js-client's retryDelays: an array of milliseconds, or
// null for no retry.
func readRetryDelays(c *call, v safejs.Value) error {
	delays := []time.Duration{}
	if n, err := v.Length(); err == nil && !v.IsNull() {
		for i := range min(n, 1<<20) {
			d, _ := v.Index(i)
			ms, _ := d.Float()
			delays = append(delays, time.Duration(min(ms, 1e12)*float64(time.Millisecond)))
		}
	}
	c.client.Retry.Delays = delays
	return nil
}

// hostStorage is the storage adapter host.js relays to the page for a kind ('default':
// localStorage, or IndexedDB where there is none; 'indexeddb'; 'memory'), or nil where
// there is none.
func hostStorage(kind string) engine.Store {
	s, err := jsHostStorage.Invoke(kind)
	if err != nil || isNullish(s) {
		return nil
	}
	return &jsStore{obj: s, kind: kind}
}

// readStorage: absent or true → the default; false or null → none; 'memory' and
// 'indexeddb' → those; an object → its get/set/remove/list methods.
func readStorage(c *call, v safejs.Value) error {
	c.storageSet = true
	switch {
	case isString(v):
		kind, _ := v.String()
		c.client.Store = hostStorage(kind)
	case isNullish(v), isBoolean(v) && !isTrue(v):
		c.client.Store = nil
	case isBoolean(v):
		c.client.Store = hostStorage("default")
	default:
		for _, m := range []string{"get", "set", "remove", "list"} {
			if f, err := v.Get(m); err != nil || !isFunction(f) {
				return fmt.Errorf("the storage object needs a %s method", m)
			}
		}
		c.client.Store = &jsStore{obj: v, custom: true}
	}
	return nil
}
