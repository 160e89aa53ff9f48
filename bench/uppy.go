package main

// The uppy extra: Uppy 6 with tuswasm's uploader plugin (tuswasm/uppy) against Uppy
// with @uppy/tus (tus-js-client), both from Uppy's one-file build and with the same
// plugin options (their defaults, the endpoint, limit): the small-files case and a
// 256 MiB file.

var (
	uppyTuswasm    = contender{Label: "Uppy + tuswasm/uppy", Name: "uppy-tuswasm"}
	uppyTus        = contender{Label: "Uppy + @uppy/tus", Name: "uppy-tus"}
	uppyContenders = []contender{uppyTuswasm, uppyTus}
)

// uppySize is the large file's size in MiB.
const uppySize = sweepSize

// uppyResult is results.json's uppy.
type uppyResult struct {
	SmallFiles *smallResult `json:"small_files"` // limit: the small-files concurrency
	SizeMiB    int          `json:"size_mib"`
	Rows       []row        `json:"rows"` // one file of SizeMiB, limit 1
}

// uppy runs the small-files case and the large file with both plugins.
func (r *runner) uppy(runs int) (*uppyResult, error) {
	res := &uppyResult{SizeMiB: uppySize}
	var err error
	if res.SmallFiles, err = r.manySmall(uppyContenders, runs); err != nil {
		return nil, err
	}
	if res.Rows, err = r.measure(uppyContenders, uppySize, runs); err != nil {
		return nil, err
	}
	return res, nil
}
