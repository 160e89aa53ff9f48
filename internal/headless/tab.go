package headless

import (
	"context"
	"fmt"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Navigate loads url in the tab ctx and waits for the load event; Settle the page next.
func Navigate(ctx context.Context, url string) error {
	return chromedp.Do(ctx, chromedp.Navigate(url))
}

// Reload reloads the tab ctx and waits for the load event; Settle the page next.
func Reload(ctx context.Context) error {
	return chromedp.Do(ctx, chromedp.Reload())
}

// Settle readies a freshly loaded page: it disables CDP's Network domain, which
// chromedp turns on in every tab it attaches to and which slows request bodies ~30x,
// and waits for readyExpr (a page global, usually a promise) to be true.
func Settle(ctx context.Context, readyExpr string) error {
	if _, err := chromedp.Call(ctx, network.Disable, cdp.Empty{}); err != nil {
		return err
	}
	ok, err := Eval[bool](ctx, readyExpr)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s is false", readyExpr)
	}
	return nil
}

// Eval runs js in the tab ctx and returns its value, awaiting a returned promise.
func Eval[T any](ctx context.Context, js string) (T, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}
