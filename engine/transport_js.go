//go:build js

package engine

import "net/http"

// defaultTransport is nil under GOOS=js: naming http.DefaultTransport here would link
// Go's whole client transport (TLS, dialers, proxies) into every wasm binary, about
// 0.5 MB of brotli-compressed download that a browser, which brings its own fetch,
// never runs. The browser adapter always sets Client.Transport.
func defaultTransport() http.RoundTripper { return nil }
