package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// The many-small-files run: what a photo or document picker uploads, where round trips,
// not bandwidth, set the pace.
const (
	smallFiles       = 200
	smallFileKiB     = 256 // within tuswasm's first chunk (512 KiB): one request each
	smallConcurrency = 6   // the browser's HTTP/1.1 connections per origin
	smallRTT         = 50 * time.Millisecond
)

var (
	// tuswasm as it comes: the bytes go with the POST, the upload is remembered for
	// resuming (the content-sampled fingerprint, localStorage).
	smallTuswasm = contender{Label: "tuswasm (defaults: creation with upload)", Name: "tuswasm", Opts: map[string]any{}}
	// The same without storage: what remembering the upload costs.
	smallTuswasmNoStore = contender{Label: "tuswasm (storage off)", Name: "tuswasm", Opts: map[string]any{"storage": false}}
	// tus-js-client with the same: one POST with the bytes, no URL storage.
	smallTusjs = contender{Label: "tus-js-client (creation with upload)", Name: "tus-js-client", Opts: map[string]any{"uploadDataDuringCreation": true, "storeFingerprintForResuming": false}}
	// tus-js-client as it comes: an empty POST, then a PATCH; URLs stored.
	smallTusjsDefault = contender{Label: "tus-js-client (defaults)", Name: "tus-js-client", Opts: map[string]any{}}
	// No client: one fetch per file, a POST with the bytes (what the browser and the
	// server reach on this machine).
	smallFetch      = contender{Label: "fetch (one POST with the bytes)", Name: "fetch"}
	smallContenders = []contender{smallTuswasm, smallTuswasmNoStore, smallTusjs, smallTusjsDefault, smallFetch}
)

// smallRow is one contender of the small-files run.
type smallRow struct {
	Contender       string         `json:"contender"`
	FilesPerS       []float64      `json:"files_per_s_runs"`
	MedianFilesPerS float64        `json:"median_files_per_s"`
	RequestsPerFile float64        `json:"requests_per_file"`  // tusd's count, last run
	Methods         map[string]int `json:"requests_by_method"` // the same, by method
	// tusd's own time per request (inside the handler, the added delay not counted),
	// last run: what is left of files/s is the round trip and the client.
	ServerMs    float64   `json:"server_ms_per_request"`
	PeakMemRuns []float64 `json:"peak_mem_mib_runs"` // as the rows' peaks
	// Where a file's time goes, last run (see breakdown).
	Breakdown *fileBreakdown `json:"breakdown,omitempty"`
}

// smallResult is results.json's small_files.
type smallResult struct {
	Files       int        `json:"files"`
	FileKiB     int        `json:"file_kib"`
	Concurrency int        `json:"concurrency"`
	AddedRTTMs  int        `json:"added_rtt_ms"`
	Rows        []smallRow `json:"rows"`
}

// manyResult is what the page's runMany() returns.
type manyResult struct {
	runResult
	Completed int        `json:"completed"`
	Error     string     `json:"error"`
	Times     []fileTime `json:"times"`
}

// smallFiles uploads smallFiles files runs times with each small-files contender,
// through the added round trip, and checks every run on the server.
func (r *runner) smallFiles(runs int) (*smallResult, error) {
	return r.manySmall(smallContenders, runs)
}

// manySmall is smallFiles with the contenders cs.
func (r *runner) manySmall(cs []contender, runs int) (*smallResult, error) {
	paths, err := writeSmallFiles(r.inputs)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(filepath.Dir(paths[0]))
	r.lat.set(smallRTT)
	defer r.lat.set(0)
	res := &smallResult{Files: smallFiles, FileKiB: smallFileKiB, Concurrency: smallConcurrency, AddedRTTMs: int(smallRTT / time.Millisecond)}
	rows := make([]smallRow, len(cs))
	for k := range runs {
		for j := range cs {
			i := (j + k) % len(cs) // alternate the order between rounds
			c := cs[i]
			if err := reload(r.tab); err != nil {
				return nil, err
			}
			if err := pickMany(r.tab, paths); err != nil {
				return nil, err
			}
			removeContents(r.uploads) // the checks count what tusd holds: only this run's
			r.tl.take()
			opts, _ := json.Marshal(c.Opts)
			out, err := eval[manyResult](r.tab, fmt.Sprintf(`runMany(%q, %s, %d)`, c.Name, opts, smallConcurrency))
			if err == nil {
				err = checkSmall(out, r.uploads)
			}
			if err != nil {
				return nil, fmt.Errorf("small files, %s: %w", c.Label, err)
			}
			rw := &rows[i]
			rw.Contender = c.Label
			rw.FilesPerS = append(rw.FilesPerS, round(smallFiles/out.Seconds, 2))
			peak := out.PeakHeap
			if c.usesWasm() { // as record(): the others' page holds an idle tuswasm
				peak += out.PeakWasm
			}
			rw.PeakMemRuns = append(rw.PeakMemRuns, round(peak/mib, 1))
			spans := r.tl.take()
			rw.RequestsPerFile = round(float64(len(spans))/smallFiles, 2)
			rw.Methods = map[string]int{}
			for _, s := range spans {
				rw.Methods[s.method]++
			}
			if _, busy, _ := serverTimes(spans); len(spans) > 0 {
				rw.ServerMs = round(busy/float64(len(spans)), 2)
			}
			rw.Breakdown = breakdown(out.Times, spans, smallRTT)
			removeContents(r.uploads)
		}
	}
	for i := range rows {
		rows[i].MedianFilesPerS = round(median(rows[i].FilesPerS), 2)
		log.Printf("%d × %d KiB, +%v RTT  %-36s %6.1f files/s  (runs %v)  %.2f requests/file %v", smallFiles, smallFileKiB, smallRTT, rows[i].Contender, rows[i].MedianFilesPerS, rows[i].FilesPerS, rows[i].RequestsPerFile, rows[i].Methods)
		if b := rows[i].Breakdown; b != nil {
			log.Printf("    per file (median ms): call→request %.1f, server %.1f, between requests %.1f, reply→settled %.1f; total %.1f = RTT %v × %.0f + those (mean %.1f, p90 %.1f, max %.1f)", b.BeforeMs, b.ServerMs, b.BetweenMs, b.AfterMs, b.TotalMs, smallRTT, b.Requests, b.TotalMeanMs, b.TotalP90Ms, b.TotalMaxMs)
		}
	}
	res.Rows = rows
	return res, nil
}

// checkSmall checks a small-files run: the page saw every upload complete, and tusd
// holds that many uploads, each with all of its bytes.
func checkSmall(out manyResult, uploads string) error {
	if out.Completed != smallFiles || out.Error != "" {
		return fmt.Errorf("%d of %d uploads completed (first failure: %s)", out.Completed, smallFiles, out.Error)
	}
	got, err := storedUploads(uploads)
	if err != nil {
		return err
	}
	var bad []string
	for _, s := range got {
		if !s.complete(smallFileKiB << 10) {
			bad = append(bad, fmt.Sprintf("%+v", s))
		}
	}
	if len(got) != smallFiles || len(bad) > 0 {
		return fmt.Errorf("tusd holds %d uploads, want %d of %d bytes; incomplete: %s", len(got), smallFiles, smallFileKiB<<10, strings.Join(bad[:min(len(bad), 3)], ", "))
	}
	return nil
}

// writeSmallFiles writes the small files, each different, in a directory of their own.
func writeSmallFiles(inputs string) ([]string, error) {
	dir, err := os.MkdirTemp(inputs, "small-")
	if err != nil {
		return nil, err
	}
	block := randomBlock(smallFileKiB << 10)
	var paths []string
	for i := range smallFiles {
		block[0], block[1] = byte(i), byte(i>>8) // distinct contents, as distinct photos
		p := filepath.Join(dir, fmt.Sprintf("photo-%03d.bin", i))
		if err := os.WriteFile(p, block, 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// pickMany puts the files at paths in the page's multiple-file input.
func pickMany(tab context.Context, paths []string) error {
	if err := chromedp.Do(tab, chromedp.SetUploadFiles(chromedp.CSS("#files"), paths)); err != nil {
		return err
	}
	n, err := eval[int](tab, `pickMany()`)
	if err == nil && n != len(paths) {
		err = fmt.Errorf("picked %d files, want %d", n, len(paths))
	}
	return err
}
