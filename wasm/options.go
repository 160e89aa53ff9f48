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

// The JS API's options, in the manner of esbuild's browser API: one table says, for
// every key, its type, which exported functions accept it and how it sets up a call.
// Every options object goes through readOptions, which rejects unknown keys (naming
// the nearest known one), keys of another function and wrong types; a key whose value
// is undefined counts as absent.

// scope is the set of exported functions that accept a key.
type scope uint

const (
	inCreateAndUpload scope = 1 << iota
	inCreate
	inUpload
	inTerminate
	inFind
	inList
	inRemove
)

// names of the exported functions, as scope bits (one bit each).
var scopeNames = map[scope]string{
	inCreateAndUpload: "createAndUpload", inCreate: "create", inUpload: "upload", inTerminate: "terminate",
	inFind: "findPreviousUploads", inList: "listUploads", inRemove: "removeUpload",
}

const (
	uploading = inCreateAndUpload | inCreate | inUpload // a file is sent or created
	sending   = inCreateAndUpload | inUpload            // bytes are sent
	requests  = uploading | inTerminate                 // anything that talks to a server
	storing   = requests | inFind | inList | inRemove   // anything that reads storage
)

// option is one row of the table. want names the type for messages; is tells whether
// a value has it; apply sets the call up from the value.
type option struct {
	key   string
	want  string
	in    scope
	is    func(safejs.Value) bool
	apply func(c *call, v safejs.Value) error
}

var options []option // filled in init: apply functions refer to the table's helpers

func init() {
	options = []option{
		{"endpoint", "a URL string", requests | inFind, isString, func(c *call, v safejs.Value) (err error) {
			c.client.Endpoint, err = v.String()
			return err
		}},
		{"protocol", "'tus-v1' or 'ietf-draft-05'", requests, oneOf(engine.ProtocolTus1, engine.ProtocolIETFDraft05), func(c *call, v safejs.Value) (err error) {
			c.client.Protocol, err = v.String()
			return err
		}},
		{"uploadUrl", "a URL string", inUpload, isString, func(c *call, v safejs.Value) (err error) {
			c.uploadURL, err = v.String()
			return err
		}},
		{"metadata", "an object of strings", uploading, isObject, func(c *call, v safejs.Value) (err error) {
			c.client.Metadata, err = stringMap(v, "metadata")
			return err
		}},
		{"headers", "an object of strings or a function", requests, either(isObject, isFunction), readHeaders},
		{"allowedOrigins", "an array of origin strings", requests, isArray, func(c *call, v safejs.Value) (err error) {
			c.client.AllowedOrigins, err = stringArray(v, "allowedOrigins")
			return err
		}},
		{"credentials", "'omit', 'same-origin' or 'include'", requests, oneOf("omit", "same-origin", "include"), func(c *call, v safejs.Value) (err error) {
			c.credentials, err = v.String()
			return err
		}},
		{"chunkSize", "a positive number of bytes", sending, isPositive, func(c *call, v safejs.Value) error {
			n, err := v.Float()
			c.client.ChunkSize = int64(min(n, 1<<40))
			return err
		}},
		{"adaptiveChunkSize", "a boolean", sending, isBoolean, func(c *call, v safejs.Value) error {
			adaptive, err := v.Bool()
			c.client.FixedChunkSize = !adaptive
			return err
		}},
		{"uploadDataDuringCreation", "a boolean", sending, isBoolean, func(c *call, v safejs.Value) error {
			data, err := v.Bool()
			c.client.DisableCreationWithUpload = !data
			return err
		}},
		{"uploadSize", "a non-negative number of bytes", uploading, isNonNegative, func(c *call, v safejs.Value) error {
			n, err := v.Float()
			c.uploadSize = int64(n)
			return err
		}},
		{"parallelUploads", "a positive integer", inCreateAndUpload, isCount, func(c *call, v safejs.Value) error {
			n, err := v.Float()
			c.client.ParallelUploads = int(min(n, 1<<30)) // the engine refuses above its cap
			return err
		}},
		{"parallelUploadBoundaries", "an array of {start, end}", inCreateAndUpload, isArray, readBoundaries},
		{"checksum", "'sha1', 'sha256', 'sha384' or 'sha512'", sending, oneOf(engine.ChecksumAlgorithms()...), func(c *call, v safejs.Value) (err error) {
			c.client.Checksum, err = v.String()
			return err
		}},
		{"requestTimeoutMs", "a number of milliseconds (0: the derived default)", requests, isNonNegative, func(c *call, v safejs.Value) error {
			ms, err := v.Float()
			c.client.RequestTimeout = time.Duration(ms * float64(time.Millisecond))
			return err
		}},
		{"checkServerCapabilities", "a boolean", uploading, isBoolean, func(c *call, v safejs.Value) (err error) {
			c.client.CheckServerCapabilities, err = v.Bool()
			return err
		}},
		{"useFileLock", "a boolean", uploading, isBoolean, func(c *call, v safejs.Value) (err error) {
			c.useLock, err = v.Bool()
			return err
		}},
		{"waitForLock", "a boolean", uploading, isBoolean, func(c *call, v safejs.Value) (err error) {
			c.waitLock, err = v.Bool()
			return err
		}},
		{"retry", "an object {maxRetries, initialDelayMs, maxDelayMs, factor}", requests, isObject, readRetry},
		{"storage", "false, null, 'memory', 'indexeddb' or an object with get, set, remove and list", storing,
			either(isNullish, isBoolean, oneOf("memory", "indexeddb"), isObject), readStorage},
		{"onExpired", "'error' or 'recreate'", sending, oneOf("error", "recreate"), func(c *call, v safejs.Value) error {
			if s, _ := v.String(); s == "recreate" {
				c.client.OnExpired = engine.ExpiredRecreate
			}
			return nil
		}},
		{"onCreate", "a function", uploading, isFunction, func(c *call, fn safejs.Value) error {
			c.client.OnCreate = func(u string) { c.notify(fn, u) }
			return nil
		}},
		{"onUploadUrlAvailable", "a function", uploading, isFunction, func(c *call, fn safejs.Value) error {
			c.client.OnUploadURL = func(u string) { c.notify(fn, u) }
			return nil
		}},
		{"onProgress", "a function", sending, isFunction, func(c *call, fn safejs.Value) error {
			c.client.OnProgress = func(sent, total int64) {
				if total < 0 {
					c.notify(fn, float64(sent), nil) // a stream whose length is not known yet
					return
				}
				c.notify(fn, float64(sent), float64(total))
			}
			return nil
		}},
		{"onBeforeRequest", "a function", requests, isFunction, readBeforeRequest},
		{"onAfterResponse", "a function", requests, isFunction, readAfterResponse},
		{"onShouldRetry", "a function", requests, isFunction, readShouldRetry},
		{"storageMaxAgeMs", "a number of milliseconds (Infinity: no limit)", storing, either(isNonNegative, isInfinity), func(c *call, v safejs.Value) error {
			ms, err := v.Float()
			switch {
			case math.IsInf(ms, 1):
				c.client.StoreMaxAge = -1
			case ms == 0:
				c.client.StoreMaxAge = time.Nanosecond // everything is stale at once
			default:
				c.client.StoreMaxAge = time.Duration(min(ms, 1e15) * float64(time.Millisecond))
			}
			return err
		}},
		{"signal", "an AbortSignal", storing, isAbortSignal, func(c *call, v safejs.Value) error { return c.watchSignal(v) }},
	}
}

// retryKeys are the keys of the retry object, each a number.
var retryKeys = []string{"maxRetries", "initialDelayMs", "maxDelayMs", "factor"}

// readOptions applies opts (undefined, null or a plain object) to c for the function
// in, rejecting what the table does not allow. With subset (index.js's Upload class,
// which passes one options object to several functions) keys of other functions are
// skipped instead.
func readOptions(c *call, in scope, opts safejs.Value, subset bool) error {
	if isNullish(opts) {
		return nil
	}
	if !isObject(opts) {
		return badOption("options must be an object, not %s", describe(opts))
	}
	keys, err := ownKeys(opts)
	if err != nil {
		return err
	}
	// Apply in table order, not the caller's: the signal is watched last, after every
	// other key had its chance to fail.
	given := map[string]safejs.Value{}
	for _, k := range keys {
		o := findOption(k)
		switch {
		case o == nil:
			return badOption("unknown option %q%s", k, suggest(k))
		case o.in&in == 0 && subset:
			continue
		case o.in&in == 0:
			return badOption("%s does not take the option %q", scopeNames[in], k)
		}
		v, err := opts.Get(k)
		if err != nil {
			return err
		}
		if v.IsUndefined() {
			continue
		}
		if !o.is(v) {
			return badOption("option %s must be %s, not %s", k, o.want, describe(v))
		}
		given[k] = v
	}
	for _, o := range options {
		if v, ok := given[o.key]; ok {
			if err := o.apply(c, v); err != nil {
				return fmt.Errorf("%w: option %s: %w", engine.ErrInvalidOption, o.key, err)
			}
		}
	}
	return nil
}

func findOption(key string) *option {
	for i := range options {
		if options[i].key == key {
			return &options[i]
		}
	}
	return nil
}

// optionKeys lists, for each exported function, the keys it accepts (for the test
// that holds the table and index.d.ts to the same sets).
func optionKeys() map[string][]string {
	out := map[string][]string{}
	for bit, name := range scopeNames {
		for _, o := range options {
			if o.in&bit != 0 {
				out[name] = append(out[name], o.key)
			}
		}
	}
	return out
}

func badOption(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{engine.ErrInvalidOption}, args...)...)
}

// suggest names the known key nearest to a mistyped one, if any is near.
func suggest(key string) string {
	best, bestD := "", 3
	for _, o := range options {
		d := editDistance(strings.ToLower(key), strings.ToLower(o.key))
		if d < bestD {
			best, bestD = o.key, d
		}
	}
	for _, k := range retryKeys {
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestD {
			best, bestD = "retry."+k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
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
		switch {
		case !slices.Contains(retryKeys, k):
			return badOption("unknown option retry.%s%s", k, suggest(k))
		case v.IsUndefined():
			continue
		case !isNonNegative(v):
			return badOption("option retry.%s must be a non-negative number, not %s", k, describe(v))
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

// hostStorage is index.js's storage adapter for a kind ('default': localStorage, or
// IndexedDB where there is none; 'indexeddb'; 'memory'), or nil where there is none. In
// worker mode the adapter relays to the page's.
func hostStorage(kind string) engine.Store {
	s, err := jsHostStorage.Invoke(kind)
	if err != nil || isNullish(s) {
		return nil
	}
	return &jsStore{obj: s}
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
