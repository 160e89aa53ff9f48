package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/tuswasm/tuswasm/internal/headless"
)

// runner is the bench page in its browser tab and the servers it uploads to.
type runner struct {
	tab     context.Context
	tl      *timeline // tusd's requests
	lat     *latency  // in front of tusd
	connCap *connCap  // between the two: the per-connection cap
	uploads string    // tusd's store, emptied after every upload
	inputs  string    // the files the page uploads
	origin  string    // the bench page's
	worker  bool      // the page loaded is bench.html?worker (tuswasm in worker mode)
}

// runResult is what the page's run() returns.
type runResult struct {
	Seconds       float64 `json:"seconds"`
	PeakHeap      float64 `json:"peakHeap"`
	PeakWasm      float64 `json:"peakWasm"`
	MaxGapS       float64 `json:"maxGapS"`
	ProgressCalls int     `json:"progressCalls"`
	// What the contender resolved to: the upload's URL (the final upload's for
	// parallel uploads; '' for fetch), and for tuswasm in how many parts it went.
	URL   string `json:"url"`
	Parts int    `json:"parts"`
}

// initTimes times init() with the bytes cached (reloads of the page), and beside it
// the start of the smallest Go program and both modules' compilation.
func (r *runner) initTimes(res *results) error {
	var splits []initSplit
	for range 7 {
		if err := reload(r.tab); err != nil {
			return err
		}
		s, err := eval[initSplit](r.tab, `floorMs()`)
		if err != nil {
			return err
		}
		splits = append(splits, s)
	}
	var compile, floor, floorCompile []float64
	for _, s := range splits {
		res.InitRuns = append(res.InitRuns, s.Init)
		compile = append(compile, s.Compile)
		floor = append(floor, s.FloorCompile+s.FloorRun)
		floorCompile = append(floorCompile, s.FloorCompile)
	}
	res.InitMs = median(res.InitRuns)
	res.InitCompileMs, res.GoFloorMs = round(median(compile), 1), round(median(floor), 1)
	if res.GoFloorMs > 0 {
		res.InitVsGoFloor = round(res.InitMs/res.GoFloorMs, 2)
	}
	log.Printf("init with cached bytes: median %.0f ms of %v; its module's compilation alone %.0f ms; the smallest Go program %.1f ms (compile %.1f, start %.1f): init / Go floor %.2f (goal ≤ 1.5)",
		res.InitMs, rounded(res.InitRuns), res.InitCompileMs, res.GoFloorMs, median(floorCompile), res.GoFloorMs-median(floorCompile), res.InitVsGoFloor)
	return nil
}

// initRuns reloads the page 7 times, in the mode it is in, and returns each load's
// init() time.
func (r *runner) initRuns() ([]float64, error) {
	var out []float64
	for range 7 {
		if err := reload(r.tab); err != nil {
			return nil, err
		}
		ms, err := eval[float64](r.tab, `initMs`)
		if err != nil {
			return nil, err
		}
		out = append(out, ms)
	}
	return out, nil
}

// open gives the next run a fresh page with tuswasm in worker or main-thread mode: a
// reload when the page is in that mode already (as every run before worker mode was
// measured), otherwise a navigation to the other URL, checked in the page.
func (r *runner) open(worker bool) error {
	if worker == r.worker {
		return reload(r.tab)
	}
	url, want := r.origin+"/bench.html", "main"
	if worker {
		url, want = url+"?worker", "worker"
	}
	if err := headless.Navigate(r.tab, url); err != nil {
		return err
	}
	if err := settle(r.tab); err != nil {
		return err
	}
	r.worker = worker
	if got, err := eval[string](r.tab, `mode`); err != nil || got != want {
		return fmt.Errorf("%s loaded tuswasm in mode %q (%v), want %q", url, got, err, want)
	}
	return nil
}

// run measures what p plans into res.
func (r *runner) run(p plan, res *results) error {
	for _, size := range p.sizes {
		rows, err := r.measure(p.contenders, size, p.runs)
		if err != nil {
			return err
		}
		res.Rows = append(res.Rows, rows...)
	}
	if len(p.sweep) > 0 {
		var err error
		if res.ChunkSweep, err = r.measure(p.sweep, sweepSize, p.runs); err != nil {
			return err
		}
	}
	if p.cadence {
		var err error
		if res.Cadence, err = r.cadence(); err != nil {
			return err
		}
	}
	if p.smallFiles {
		var err error
		if res.SmallFiles, err = r.smallFiles(p.runs); err != nil {
			return err
		}
	}
	if p.stream {
		var err error
		// At most 3: one takes ~20 s (the stream path runs at a fifth of a file's speed),
		// and make bench should stay within ~10 minutes.
		if res.Stream, err = r.stream(min(p.runs, 3)); err != nil {
			return err
		}
	}
	if p.worker {
		var err error
		if res.Worker, err = r.workerMode(p.runs); err != nil {
			return err
		}
	}
	if p.uppy {
		var err error
		if res.Uppy, err = r.uppy(p.runs); err != nil {
			return err
		}
	}
	if p.fingerprint {
		var err error
		if res.Fingerprint, err = r.fingerprint(); err != nil {
			return err
		}
	}
	if p.node {
		var err error
		// At most 5 each: a run is a process start, init() and ~5 s of upload, and runs
		// varied by 2x on this machine.
		if res.Node, err = r.node(min(p.runs, 5)); err != nil {
			return err
		}
	}
	if p.parallel {
		var err error
		// At most 3: one upload alone takes ~26 s at the cap.
		if res.Parallel, err = r.parallel(min(p.runs, 3)); err != nil {
			return err
		}
	}
	return nil
}

// profile uploads the plan's first size once with its first contender under the
// profiler.
func (r *runner) profile(p plan) error {
	path, err := writeInput(r.inputs, p.sizes[0])
	if err == nil {
		err = pick(r.tab, path, p.sizes[0])
	}
	if err != nil {
		return err
	}
	return profileRun(r.tab, p.contenders[0], p.profile)
}

// measure uploads a file of size MiB runs times with each contender, in an order that
// alternates between rounds, and returns a row per contender.
func (r *runner) measure(cs []contender, size, runs int) ([]row, error) {
	path, err := writeInput(r.inputs, size)
	if err != nil {
		return nil, err
	}
	defer os.Remove(path)
	rows := make([]row, len(cs))
	for i, c := range cs {
		rows[i] = row{Contender: c.Label, SizeMiB: size}
	}
	for k := range runs {
		for j := range cs {
			i := (j + k) % len(cs) // alternate the order between rounds
			// A fresh page per run: wasm memory never shrinks, so a peak is only this
			// upload's own in a fresh instance.
			if err := r.open(cs[i].Worker); err != nil {
				return nil, err
			}
			if err := pick(r.tab, path, size); err != nil {
				return nil, err
			}
			r.tl.take()
			out, err := runOnce(r.tab, cs[i])
			if err != nil {
				return nil, fmt.Errorf("%s, %d MiB: %w", cs[i].Label, size, err)
			}
			record(&rows[i], cs[i], size, out, r.tl.take())
			removeContents(r.uploads)
		}
	}
	for i := range rows {
		rows[i].MedianMiBs = median(rows[i].MiBps)
		rows[i].PeakMemMiB = median(rows[i].PeakMemRuns)
		log.Printf("%4d MiB  %-36s %7.1f MiB/s  (runs %v)  peak %.1f MiB", size, rows[i].Contender, rows[i].MedianMiBs, rounded(rows[i].MiBps), rows[i].PeakMemMiB)
		if rw := rows[i]; rw.Requests > 0 {
			log.Printf("          %d requests; ms between requests %v, in requests %v, outside %v", rw.Requests, rw.GapMs, rw.BusyMs, rw.OutsideMs)
		}
	}
	return rows, nil
}

// record adds one upload of c (the page's figures, tusd's request spans) to its row.
func record(rw *row, c contender, size int, out runResult, spans []span) {
	gapMs, busyMs, spanMs := serverTimes(spans)
	rw.MiBps = append(rw.MiBps, float64(size)/out.Seconds)
	if len(spans) > 0 {
		rw.GapMs = append(rw.GapMs, round(gapMs, 1))
		rw.BusyMs = append(rw.BusyMs, round(busyMs, 1))
		rw.OutsideMs = append(rw.OutsideMs, round(out.Seconds*1000-spanMs, 1))
		rw.Requests = len(spans)
	}
	rw.PeakWasm = max(rw.PeakWasm, out.PeakWasm/mib)
	rw.PeakHeap = max(rw.PeakHeap, out.PeakHeap/mib)
	peak := out.PeakHeap / mib
	if c.usesWasm() {
		peak += out.PeakWasm / mib
	}
	rw.PeakMemRuns = append(rw.PeakMemRuns, peak)
}

func runOnce(tab context.Context, c contender) (runResult, error) {
	opts, _ := json.Marshal(c.Opts)
	if c.Opts == nil {
		opts = []byte("{}")
	}
	return eval[runResult](tab, fmt.Sprintf(`run(%q, %s)`, c.Name, opts))
}

// cadence uploads 12 MiB with the browser's upload throttled to 1 MiB/s and reports the
// longest silence between onProgress calls (from the call's start), for tuswasm's
// defaults and, for contrast, a fixed 8 MiB chunk. CDP's Network domain is on only here.
func (r *runner) cadence() (map[string]any, error) {
	const size = 12
	tab := r.tab
	path, err := writeInput(r.inputs, size)
	if err == nil {
		err = pick(tab, path, size)
	}
	if err != nil {
		return nil, err
	}
	throttle := func(on bool) error {
		var conds []*network.Conditions
		if on {
			if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			conds = []*network.Conditions{{UploadThroughput: mib, DownloadThroughput: -1}}
		}
		if _, err := chromedp.Call(tab, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: conds}); err != nil {
			return err
		}
		if !on {
			_, err := chromedp.Call(tab, network.Disable, cdp.Empty{})
			return err
		}
		return nil
	}
	if err := throttle(true); err != nil {
		return nil, err
	}
	defer throttle(false)
	out := map[string]any{"size_mib": size, "upload_throttle_mib_per_s": 1}
	for _, c := range []contender{tuswasmDefault, tuswasmFixed} {
		got, err := runOnce(tab, c)
		if err != nil {
			return nil, err
		}
		out[c.Label] = round(got.MaxGapS, 2)
		out[c.Label+" seconds"] = round(got.Seconds, 1)
		log.Printf("1 MiB/s: %-24s longest progress gap %.2f s over %.1f s (%d calls)", c.Label, got.MaxGapS, got.Seconds, got.ProgressCalls)
	}
	return out, nil
}

// writeInput writes a file of size MiB (pseudo-random bytes) in dir. The bench uploads
// real files from disk, as users do: Chromium also refuses to read in-memory Blobs
// back after a few hundred MiB of them have been fetch bodies.
func writeInput(dir string, size int) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("%dMiB.bin", size))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	block := randomBlock(mib)
	for range size {
		if _, err := f.Write(block); err != nil {
			f.Close()
			return "", err
		}
	}
	return path, f.Close()
}

// pick puts the file at path in the page's file input.
func pick(tab context.Context, path string, size int) error {
	if err := chromedp.Do(tab, chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{path})); err != nil {
		return err
	}
	n, err := eval[float64](tab, `pick()`)
	if err == nil && int(n) != size*mib {
		err = fmt.Errorf("picked %v bytes, want %d", n, size*mib)
	}
	return err
}

// removeContents removes finished uploads so a GiB-sized bench does not fill the disk.
func removeContents(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// randomBlock is n pseudo-random bytes (xorshift): incompressible, and the same every run.
func randomBlock(n int) []byte {
	block := make([]byte, n)
	x := uint32(2463534242)
	for i := range block {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		block[i] = byte(x)
	}
	return block
}
