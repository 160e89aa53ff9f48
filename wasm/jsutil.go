//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/hack-pad/safejs"
)

var (
	jsPromise = safejs.MustGetGlobal("Promise")
	jsObject  = safejs.MustGetGlobal("Object")
	jsJSON    = safejs.MustGetGlobal("JSON")
)

// await waits for a JS Promise without blocking the JS event loop: the then/catch
// callbacks only hand the outcome to this goroutine. The callbacks are released once
// the promise settles (never before: a settled promise calling a released func panics).
func await(ctx context.Context, p safejs.Value) (safejs.Value, error) {
	type outcome struct {
		v   safejs.Value
		err error
	}
	ch := make(chan outcome, 1)
	var onOK, onErr safejs.Func
	settle := func(o outcome) {
		ch <- o
		onOK.Release()
		onErr.Release()
	}
	var err error
	if onOK, err = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		settle(outcome{v: arg(args, 0)})
		return nil
	}); err != nil {
		return safejs.Undefined(), err
	}
	if onErr, err = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		settle(outcome{err: jsErrorOf(arg(args, 0))})
		return nil
	}); err != nil {
		onOK.Release()
		return safejs.Undefined(), err
	}
	if _, err := p.Call("then", onOK, onErr); err != nil {
		onOK.Release()
		onErr.Release()
		return safejs.Undefined(), fmt.Errorf("not a promise: %w", err)
	}
	select {
	case o := <-ch:
		return o.v, o.err
	case <-ctx.Done():
		return safejs.Undefined(), ctx.Err()
	}
}

// jsError is a rejection or exception from JavaScript, keeping its name
// ("AbortError", "NotReadableError", "TypeError", "QuotaExceededError") and the value
// itself (a caller's hook may have thrown anything).
type jsError struct {
	Name, Message string
	value         safejs.Value
}

func (e *jsError) Error() string {
	if e.Name == "" {
		return e.Message
	}
	return e.Name + ": " + e.Message
}

func jsErrorOf(v safejs.Value) error {
	name, _ := getString(v, "name")
	msg, _ := getString(v, "message")
	if name == "" && msg == "" {
		msg, _ = v.String()
	}
	return &jsError{Name: name, Message: msg, value: v}
}

// thrownValue is the value of a synchronous exception safejs reported.
func thrownValue(err error) (safejs.Value, bool) {
	var t js.Error
	if errors.As(err, &t) {
		return safejs.Safe(t.Value), true
	}
	return safejs.Undefined(), false
}

// jsErrName returns the JS error name inside err, if any.
func jsErrName(err error) string {
	var je *jsError
	if errors.As(err, &je) {
		return je.Name
	}
	if v, ok := thrownValue(err); ok {
		n, _ := getString(v, "name")
		return n
	}
	return ""
}

// newPromise returns a Promise settled by fn, which runs in its own goroutine: an
// exported function must never block the JS callback that called it.
func newPromise(fn func() (any, error)) (safejs.Value, error) {
	var executor safejs.Func
	executor, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		resolve, reject := arg(args, 0), arg(args, 1)
		go func() {
			defer executor.Release()
			v, err := func() (v any, err error) {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("internal error: %v", r)
					}
				}()
				return fn()
			}()
			if err != nil {
				_, _ = reject.Invoke(errorToJS(err))
				return
			}
			_, _ = resolve.Invoke(v)
		}()
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	return jsPromise.New(executor)
}

func arg(args []safejs.Value, i int) safejs.Value {
	if i < len(args) {
		return args[i]
	}
	return safejs.Undefined()
}

func isNullish(v safejs.Value) bool { return v.IsUndefined() || v.IsNull() }

var (
	jsReflect  = safejs.MustGetGlobal("Reflect")
	jsIterator = func() safejs.Value {
		sym, _ := safejs.MustGetGlobal("Symbol").Get("iterator")
		return sym
	}()
)

// isIterable: an object with a Symbol.iterator (a Headers, Map, URLSearchParams, an array).
func isIterable(v safejs.Value) bool {
	if v.Type() != safejs.TypeObject || v.IsNull() {
		return false
	}
	ok, err := jsReflect.Call("has", v, jsIterator)
	return err == nil && isTrue(ok)
}

func isTrue(v safejs.Value) bool {
	b, err := v.Bool()
	return err == nil && b
}

func getString(v safejs.Value, key string) (string, error) {
	if isNullish(v) {
		return "", nil
	}
	x, err := v.Get(key)
	if err != nil || isNullish(x) {
		return "", err
	}
	if x.Type() != safejs.TypeString {
		return "", fmt.Errorf("option %s must be a string", key)
	}
	return x.String()
}

func getNumber(v safejs.Value, key string) (float64, bool, error) {
	if isNullish(v) {
		return 0, false, nil
	}
	x, err := v.Get(key)
	if err != nil || isNullish(x) {
		return 0, false, err
	}
	if x.Type() != safejs.TypeNumber {
		return 0, false, fmt.Errorf("option %s must be a number", key)
	}
	f, err := x.Float()
	return f, err == nil, err
}

func getBool(v safejs.Value, key string) (bool, error) {
	if isNullish(v) {
		return false, nil
	}
	x, err := v.Get(key)
	if err != nil || isNullish(x) {
		return false, err
	}
	return x.Truthy()
}
