//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"strings"
	"time"

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
	obj, err := jsJSON.Call("parse", v)
	u, ok := storedFrom(obj)
	if err != nil || !ok || u.Fingerprint != fp {
		_, _ = s.ls.Call("removeItem", storagePrefix+fp) // corrupt: forget it
		return engine.StoredUpload{}, false, nil
	}
	return u, true, nil
}

func (s localStore) Put(_ context.Context, u engine.StoredUpload) error {
	obj, err := safejs.ValueOf(storedObject(u))
	if err != nil {
		return err
	}
	text, err := jsJSON.Call("stringify", obj)
	if err != nil {
		return err
	}
	_, err = s.ls.Call("setItem", storagePrefix+u.Fingerprint, text) // QuotaExceededError is ignored by the engine
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
	u, ok := storedFrom(v)
	if !ok {
		return engine.StoredUpload{}, false, nil
	}
	u.Fingerprint = fp
	return u, true, nil
}

func (s jsStore) Put(ctx context.Context, u engine.StoredUpload) error {
	_, err := s.call(ctx, "set", u.Fingerprint, storedObject(u))
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
	if isArr, err := jsArray.Call("isArray", v); err != nil || !isTrue(isArr) {
		return nil, fmt.Errorf("storage.list: want an array of entries")
	}
	n, err := v.Length()
	if err != nil {
		return nil, fmt.Errorf("storage.list: %w", err)
	}
	var out []engine.StoredUpload
	for i := range n {
		e, _ := v.Index(i)
		if u, ok := storedFrom(e); ok {
			out = append(out, u)
		}
	}
	return out, nil
}

// storedObject is u as a plain object: what storage callbacks receive, what
// findPreviousUploads returns, and (as JSON) what localStorage holds.
func storedObject(u engine.StoredUpload) map[string]any {
	o := map[string]any{
		"fingerprint": u.Fingerprint, "url": u.URL, "size": float64(u.Size),
		"createdAt": u.CreatedAt.UTC().Format(time.RFC3339),
	}
	if !u.ExpiresAt.IsZero() {
		o["expiresAt"] = u.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return o
}

// storedFrom reads an entry back; ok is false for anything without a URL.
func storedFrom(v safejs.Value) (u engine.StoredUpload, ok bool) {
	if isNullish(v) {
		return u, false
	}
	if u.URL, _ = getString(v, "url"); u.URL == "" {
		return u, false
	}
	u.Fingerprint, _ = getString(v, "fingerprint")
	if size, ok, _ := getNumber(v, "size"); ok {
		u.Size = int64(size)
	}
	if at, _ := getString(v, "createdAt"); at != "" {
		u.CreatedAt, _ = time.Parse(time.RFC3339, at)
	}
	if at, _ := getString(v, "expiresAt"); at != "" {
		u.ExpiresAt, _ = time.Parse(time.RFC3339, at)
	}
	return u, true
}
