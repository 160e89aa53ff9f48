// Package headless holds the Chromium configuration and tab helpers the e2e suite and
// the bench share, so that both drive and measure the same browser the same way.
package headless

import "github.com/chromedp/chromedp"

// Options launches the Chromium at path headless with a fresh profile in profileDir and
// nothing running in the background (no component updates, sync or QUIC), plus extra.
func Options(path, profileDir string, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profileDir),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
	)
	return append(opts, extra...)
}
