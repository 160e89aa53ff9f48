//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hack-pad/safejs"
	"github.com/tuswasm/tuswasm/engine"
)

// storagePrefix namespaces tuswasm's localStorage keys.
const storagePrefix = "tuswasm::"

// localStore is an engine.Store in localStorage. It never fails an upload: a storage
// that is missing (workers, privacy modes), full or corrupt behaves as an empty one.
type localStore struct{ ls safejs.Value }

func newLocalStore() engine.Store {
	ls, err := safejs.Global().Get("localStorage") // throws SecurityError in some modes
	if err != nil || isNullish(ls) {
		return nil
	}
	return localStore{ls: ls}
}

func (s localStore) Get(_ context.Context, fp string) (engine.StoredUpload, bool, error) {
	v, err := s.ls.Call("getItem", storagePrefix+fp)
	if err != nil || isNullish(v) {
		return engine.StoredUpload{}, false, nil
	}
	raw, _ := v.String()
	var u engine.StoredUpload
	if json.Unmarshal([]byte(raw), &u) != nil || u.URL == "" || u.Fingerprint != fp {
		_, _ = s.ls.Call("removeItem", storagePrefix+fp) // corrupt: forget it
		return engine.StoredUpload{}, false, nil
	}
	return u, true, nil
}

func (s localStore) Put(_ context.Context, u engine.StoredUpload) error {
	b, err := json.Marshal(u)
	if err != nil {
		return err
	}
	_, err = s.ls.Call("setItem", storagePrefix+u.Fingerprint, string(b)) // QuotaExceededError is ignored by the engine
	return err
}

func (s localStore) Delete(_ context.Context, fp string) error {
	_, err := s.ls.Call("removeItem", storagePrefix+fp)
	return err
}

func (s localStore) List(ctx context.Context) ([]engine.StoredUpload, error) {
	n, _, err := getNumber(s.ls, "length")
	if err != nil {
		return nil, err
	}
	var keys []string
	for i := range int(n) {
		k, err := s.ls.Call("key", i)
		if err != nil || isNullish(k) {
			continue
		}
		if ks, _ := k.String(); strings.HasPrefix(ks, storagePrefix) {
			keys = append(keys, ks)
		}
	}
	var out []engine.StoredUpload
	for _, k := range keys {
		if u, ok, _ := s.Get(ctx, strings.TrimPrefix(k, storagePrefix)); ok {
			out = append(out, u)
		}
	}
	return out, nil
}

// jsStore adapts a caller's object with async get(fp), set(fp, entry), remove(fp) and
// list() to engine.Store. Entries cross as plain objects with the StoredUpload fields.
type jsStore struct{ obj safejs.Value }

func (s jsStore) call(ctx context.Context, method string, args ...any) (safejs.Value, error) {
	v, err := s.obj.Call(method, args...)
	if err != nil {
		return v, fmt.Errorf("storage.%s: %w", method, err)
	}
	p, err := jsPromise.Call("resolve", v) // the method may be sync or async
	if err != nil {
		return v, err
	}
	return await(ctx, p)
}

func (s jsStore) Get(ctx context.Context, fp string) (engine.StoredUpload, bool, error) {
	v, err := s.call(ctx, "get", fp)
	if err != nil || isNullish(v) {
		return engine.StoredUpload{}, false, err
	}
	var u engine.StoredUpload
	raw, err := fromJSON(v)
	if err != nil || json.Unmarshal([]byte(raw), &u) != nil || u.URL == "" {
		return engine.StoredUpload{}, false, nil
	}
	u.Fingerprint = fp
	return u, true, nil
}

func (s jsStore) Put(ctx context.Context, u engine.StoredUpload) error {
	b, _ := json.Marshal(u)
	v, err := toJSON(string(b))
	if err != nil {
		return err
	}
	_, err = s.call(ctx, "set", u.Fingerprint, v)
	return err
}

func (s jsStore) Delete(ctx context.Context, fp string) error {
	_, err := s.call(ctx, "remove", fp)
	return err
}

func (s jsStore) List(ctx context.Context) ([]engine.StoredUpload, error) {
	v, err := s.call(ctx, "list")
	if err != nil || isNullish(v) {
		return nil, err
	}
	raw, err := fromJSON(v)
	if err != nil {
		return nil, err
	}
	var out []engine.StoredUpload
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("storage.list: %w", err)
	}
	return out, nil
}
