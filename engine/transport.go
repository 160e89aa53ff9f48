//go:build !js

package engine

import "net/http"

// defaultTransport is what a Client without a Transport uses.
func defaultTransport() http.RoundTripper { return http.DefaultTransport }
