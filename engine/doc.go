// Package engine is a tus 1.0.0 resumable-upload client (https://tus.io/protocols/resumable-upload).
//
// It is plain Go: no syscall/js, all HTTP through an http.RoundTripper (Client.Transport;
// the Client itself is the policy above it, as http.Client is). In the browser, package
// wasm supplies a fetch-backed transport and a Blob-backed File; natively
// http.DefaultTransport and any io.ReaderAt serve. The engine never reads the whole file:
// each PATCH body is the io.ReadCloser that File.ReadSection returns, handed to net/http
// unchanged, so memory stays proportional to the chunk size and a transport can recognise
// a source-specific body.
//
// A Client holds the policy (chunk size, retries, headers, storage); its methods are
// Create (POST), Upload (HEAD then PATCH chunks to an existing upload) and
// CreateAndUpload (both, resuming from a Store when one is configured).
package engine
