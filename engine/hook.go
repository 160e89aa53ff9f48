package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultHookTimeout bounds each call of a caller's function (HeadersFunc,
// BeforeRequest, AfterResponse, ShouldRetry, FingerprintFunc) when Client.HookTimeout
// is zero.
const DefaultHookTimeout = 10 * time.Second

// hook runs fn, which calls one of the caller's functions with a context that ends
// after HookTimeout: a function that honours it (the browser build's Promise waits
// all do) cannot hold a call. Its failure, a timeout included, is ErrHook; the call's
// own end (an abort) stays what it is.
func (p *policy) hook(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	limit := p.c.HookTimeout
	if limit <= 0 {
		limit = DefaultHookTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := fn(hctx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case hctx.Err() != nil:
		return fmt.Errorf("%w: %s did not answer within %v", ErrHook, name, limit)
	case errors.Is(err, ErrHook):
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrHook, name, err)
}
