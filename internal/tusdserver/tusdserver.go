// Package tusdserver builds the one tusd v2 setup the demo, the bench and the tests
// serve: a filestore in a directory (or an S3 bucket), in-memory locks, mounted at
// /files/. It is a dev
// and test server: nothing in the product (engine, wasm, js) imports it.
package tusdserver

import (
	"io"
	"net/http"

	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	"github.com/tus/tusd/v2/pkg/s3store"
	"golang.org/x/exp/slog"
)

// Options tune the server.
type Options struct {
	MaxSize int64
	// DisableConcatenation turns the concatenation extension off (a server without it).
	DisableConcatenation bool
	Cors                 *handler.CorsConfig
	// EnableExperimentalProtocol also serves the IETF resumable-upload draft (requests
	// with Upload-Draft-Interop-Version 3 to 6). CORS then also allows Content-Disposition
	// (the draft's file name) and exposes Upload-Limit, which tusd's defaults lack.
	EnableExperimentalProtocol bool
	// Log receives tusd's log of every request; nil discards it.
	Log io.Writer
	// S3, when set, stores uploads in its bucket through tusd's s3store instead of the
	// file store in dir: parts of at least 5 MiB, an unfinished part kept as an object
	// of its own, HEAD answered from S3.
	S3 *S3
}

// New returns tusd storing uploads in dir, routed at /files/ and /files (creation
// works with or without the slash).
func New(dir string, opts Options) (http.Handler, error) {
	composer := handler.NewStoreComposer()
	if opts.S3 != nil {
		store := s3store.New(opts.S3.Bucket, opts.S3.Client)
		store.TemporaryDirectory = dir
		store.UseIn(composer)
	} else {
		filestore.New(dir).UseIn(composer)
	}
	composer.UseLocker(wrapLocker(memorylocker.New()))
	logOut := opts.Log
	if logOut == nil {
		logOut = io.Discard
	}
	cors := opts.Cors
	if opts.EnableExperimentalProtocol {
		c := handler.DefaultCorsConfig
		if cors != nil {
			c = *cors
		}
		c.AllowHeaders += ", Content-Disposition"
		c.ExposeHeaders += ", Upload-Limit"
		cors = &c
	}
	h, err := handler.NewHandler(handler.Config{
		BasePath:                   "/files/",
		StoreComposer:              composer,
		MaxSize:                    opts.MaxSize,
		DisableConcatenation:       opts.DisableConcatenation,
		Cors:                       cors,
		EnableExperimentalProtocol: opts.EnableExperimentalProtocol,
		Logger:                     slog.New(slog.NewTextHandler(logOut, nil)),
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/files/", http.StripPrefix("/files/", h))
	mux.Handle("/files", http.StripPrefix("/files", h))
	return mux, nil
}
