package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
)

// The worker extra: the same upload with tuswasm on the page's main thread
// (init()) and in its dedicated Worker (init({worker: true})): throughput, what each
// costs the page's main thread, and init() time.

// workerSize is the worker runs' file size in MiB (as the sweep's: long enough for the
// adaptive chunk size to settle, short enough for paired runs).
const workerSize = sweepSize

// busyIntervalUs is the profiler's sampling interval in the main-thread runs: a few
// thousand samples per upload, so even a nearly idle thread's few ms are seen, at a cost
// small enough not to slow the upload much (those runs are not the throughput runs).
const busyIntervalUs = 250

// workerResult is results.json's worker_mode.
type workerResult struct {
	SizeMiB int `json:"size_mib"`
	// tuswasmDefault and tuswasmWorker, alternating as the other rows. A worker row's
	// peak memory is the page's JS heap plus the worker's wasm memory (as stats()
	// reports it after the call; it only grows): the worker's own JS heap is not counted.
	Rows []row `json:"rows"`
	// The median of per-round ratios, worker over main thread.
	Paired float64 `json:"worker_vs_main_paired"`
	// The page's main thread during other uploads of the same file, one entry per mode,
	// and a worker-mode page that uploads nothing for as long (the measure's floor).
	MainThread []busyRow `json:"main_thread"`
	// init() with the bytes cached, worker mode (reloads of bench.html?worker).
	InitRuns []float64 `json:"init_ms_cached_worker_runs"`
	// The same for init() on the main thread, right before (init_ms is from the bench's
	// start).
	InitMainRuns []float64 `json:"init_ms_cached_main_runs"`
	// worker.js: the one file worker mode loads beyond main-thread mode's (the wasm is
	// the same file, wasm_*_bytes).
	WorkerJSBytes int `json:"worker_js_bytes"`
}

// busyRow is the page's main thread during one mode's profiled uploads.
type busyRow struct {
	Contender string `json:"contender"`
	// From a V8 CPU profile of the page (sampled every busyIntervalUs), per run: the
	// non-idle time and its parts (threadTime), the profiled time, the upload's (the
	// wait's, idle).
	BusyMs     []float64 `json:"busy_ms_runs"`
	ScriptMs   []float64 `json:"script_ms_runs"`
	ProgramMs  []float64 `json:"program_ms_runs"`
	GCMs       []float64 `json:"gc_ms_runs"`
	ProfiledMs []float64 `json:"profiled_ms_runs"`
	UploadMs   []float64 `json:"upload_ms_runs"`
	// A second measure to check the first: the CPU time of the main thread's tasks
	// (CDP Performance.getMetrics TaskDuration, thread ticks) over the same runs.
	TaskCPUMs []float64 `json:"task_cpu_ms_runs"`
	// The medians, per GiB uploaded.
	BusyMsPerGiB    float64 `json:"busy_ms_per_gib"`
	TaskCPUMsPerGiB float64 `json:"task_cpu_ms_per_gib"`
}

// workerMode measures worker mode against main-thread mode at workerSize: init() times,
// throughput (runs rounds) and the main thread's time (up to 3 rounds more, profiled).
func (r *runner) workerMode(runs int) (res *workerResult, err error) {
	// The runs after this one reload whatever page they find: leave a main-thread one.
	defer func() {
		if e := r.open(false); err == nil {
			err = e
		}
	}()
	res = &workerResult{SizeMiB: workerSize}
	if b, err := os.ReadFile(filepath.Join(*jsDir, "worker.js")); err == nil {
		res.WorkerJSBytes = len(b)
	}
	// init() in both modes here, back to back: the bench's first init times come from
	// its first page loads and can run slower than these.
	for _, worker := range []bool{false, true} {
		if err := r.open(worker); err != nil {
			return nil, err
		}
		ms, err := r.initRuns()
		if err != nil {
			return nil, err
		}
		if worker {
			res.InitRuns = ms
		} else {
			res.InitMainRuns = ms
		}
	}
	log.Printf("init with cached bytes: worker mode median %.0f ms of %v, main-thread mode %.0f ms of %v", median(res.InitRuns), rounded(res.InitRuns), median(res.InitMainRuns), rounded(res.InitMainRuns))
	pair := []contender{tuswasmDefault, tuswasmWorker}
	if res.Rows, err = r.measure(pair, workerSize, runs); err != nil {
		return nil, err
	}
	var ratios []float64
	for i := range min(len(res.Rows[0].MiBps), len(res.Rows[1].MiBps)) {
		ratios = append(ratios, res.Rows[1].MiBps[i]/res.Rows[0].MiBps[i])
	}
	res.Paired = round(median(ratios), 3)
	if res.MainThread, err = r.mainThread(pair, workerSize, min(runs, 3)); err != nil {
		return nil, err
	}
	return res, nil
}

// idleFloor is the main-thread measure's floor: a worker-mode page that uploads
// nothing, profiled as long as a worker-mode upload took.
var idleFloor = contender{Label: "idle page (worker mode, no upload)", Name: "idle", Worker: true}

// mainThread uploads a file of size MiB runs times with each contender, each in a fresh
// page under the profiler, and returns what the page's main thread did meanwhile; then
// as many idle runs (idleFloor), whose figures per GiB are over the last contender's
// median upload time.
func (r *runner) mainThread(cs []contender, size, runs int) ([]busyRow, error) {
	path, err := writeInput(r.inputs, size)
	if err != nil {
		return nil, err
	}
	defer os.Remove(path)
	rows := make([]busyRow, len(cs)+1)
	for i, c := range cs {
		rows[i].Contender = c.Label
	}
	rows[len(cs)].Contender = idleFloor.Label
	for k := range runs {
		for j := range cs {
			i := (j + k) % len(cs)
			if err := r.open(cs[i].Worker); err == nil {
				err = pick(r.tab, path, size)
			}
			if err == nil {
				err = r.busyRun(&rows[i], cs[i], "{}")
			}
			if err != nil {
				return nil, fmt.Errorf("%s, %d MiB, profiled: %w", cs[i].Label, size, err)
			}
			removeContents(r.uploads)
		}
	}
	idleMs := median(rows[len(cs)-1].UploadMs)
	for range runs {
		err := r.open(idleFloor.Worker)
		if err == nil {
			err = r.busyRun(&rows[len(cs)], idleFloor, fmt.Sprintf(`{"ms": %.0f}`, idleMs))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", idleFloor.Label, err)
		}
	}
	perGiB := func(ms float64) float64 { return round(ms*1024/float64(size), 1) }
	for i := range rows {
		rw := &rows[i]
		rw.BusyMsPerGiB, rw.TaskCPUMsPerGiB = perGiB(median(rw.BusyMs)), perGiB(median(rw.TaskCPUMs))
		log.Printf("%4d MiB  %-36s main thread busy %v ms (script %v, program %v, GC %v) of %v ms; task CPU %v ms: %.0f ms/GiB (task CPU %.0f)",
			size, rw.Contender, rw.BusyMs, rw.ScriptMs, rw.ProgramMs, rw.GCMs, rw.UploadMs, rw.TaskCPUMs, rw.BusyMsPerGiB, rw.TaskCPUMsPerGiB)
	}
	return rows, nil
}

// busyRun runs c once (with opts, a JSON object) in the page as loaded, under the
// profiler and the task clock, and adds the figures to rw.
func (r *runner) busyRun(rw *busyRow, c contender, opts string) error {
	// Collect the page load's garbage now, not in the measured run; and no memory
	// polling in it (run's quiet): the main thread's time is the upload's.
	if _, err := eval[any](r.tab, `window.gc?.()`); err != nil {
		return err
	}
	r.tl.take()
	var out runResult
	var t threadTime
	var profiledMs float64
	cpu, err := taskCPU(r.tab, func() error {
		prof, err := profiled(r.tab, busyIntervalUs, func() (err error) {
			out, err = eval[runResult](r.tab, fmt.Sprintf(`run(%q, %s, true)`, c.Name, opts))
			return err
		})
		if err == nil {
			t, profiledMs = split(prof), float64(prof.EndTime-prof.StartTime)/1000
		}
		return err
	})
	if err != nil {
		return err
	}
	rw.BusyMs = append(rw.BusyMs, round(t.busy(), 1))
	rw.ScriptMs = append(rw.ScriptMs, round(t.Script, 1))
	rw.ProgramMs = append(rw.ProgramMs, round(t.Program, 1))
	rw.GCMs = append(rw.GCMs, round(t.GC, 1))
	rw.ProfiledMs = append(rw.ProfiledMs, round(profiledMs, 1))
	rw.TaskCPUMs = append(rw.TaskCPUMs, round(cpu, 1))
	rw.UploadMs = append(rw.UploadMs, round(out.Seconds*1000, 1))
	return nil
}

// taskCPU runs fn and returns the CPU time, in ms, of the tasks the page's main thread
// ran meanwhile (CDP's Performance domain, thread ticks: time the thread was scheduled).
func taskCPU(tab context.Context, fn func() error) (float64, error) {
	if _, err := chromedp.Call(tab, performance.Enable, performance.EnableParams{TimeDomain: performance.EnableTimeDomainThreadTicks}); err != nil {
		return 0, err
	}
	defer chromedp.Call(tab, performance.Disable, cdp.Empty{})
	read := func() (float64, error) {
		m, err := chromedp.Call(tab, performance.GetMetrics, cdp.Empty{})
		if err != nil {
			return 0, err
		}
		for _, x := range m.Metrics {
			if x.Name == "TaskDuration" {
				return x.Value * 1000, nil // seconds
			}
		}
		return 0, fmt.Errorf("no TaskDuration in Performance.getMetrics")
	}
	before, err := read()
	if err != nil {
		return 0, err
	}
	if err := fn(); err != nil {
		return 0, err
	}
	after, err := read()
	return after - before, err
}
