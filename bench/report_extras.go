package main

import (
	"fmt"
	"log"
	"strings"
)

// extraTargets are the target table's rows of the small-files and stream runs, when
// they ran.
func extraTargets(res *results, pass func(bool) string) string {
	var b strings.Builder
	if sf := res.SmallFiles; sf != nil {
		fmt.Fprintf(&b, "| %d × %d KiB files, +%d ms RTT: tuswasm / tus-js-client, both creation with upload ≥ 1.0 | %.2f | %s |\n", sf.Files, sf.FileKiB, sf.AddedRTTMs, res.SmallFilesVsTusjs, pass(res.SmallFilesVsTusjs >= 1))
		fmt.Fprintf(&b, "| the same: tuswasm / tus-js-client defaults ≥ 1.5 | %.2f | %s |\n", res.SmallFilesVsTusjsDefault, pass(res.SmallFilesVsTusjsDefault >= 1.5))
	}
	if st := res.Stream; st != nil {
		if st.Error != "" {
			fmt.Fprintf(&b, "| peak memory, 1 GiB stream of unknown length ≤ 64 MiB | failed (below) | %s |\n", pass(false))
		} else {
			fmt.Fprintf(&b, "| peak memory, 1 GiB stream of unknown length ≤ 64 MiB | %.1f MiB at %.0f MiB/s | %s |\n", res.StreamPeakMem1G, res.StreamMiBs, pass(res.StreamPeakMem1G <= 64))
		}
	}
	if w := res.Worker; w != nil {
		fmt.Fprintf(&b, "| worker mode / main-thread mode (defaults), %d MiB ≥ 0.95 | %.2f (median of per-round ratios %.2f) | %s |\n", w.SizeMiB, res.WorkerVsMain, w.Paired, pass(res.WorkerVsMain >= 0.95))
	}
	return b.String()
}

// extraSections are REPORT.md's sections of the small-files and stream runs.
func extraSections(res *results) string {
	var b strings.Builder
	if sf := res.SmallFiles; sf != nil {
		fmt.Fprintf(&b, "\n## Many small files over a %d ms round trip\n\n", sf.AddedRTTMs)
		fmt.Fprintf(&b, "%d files of %d KiB from disk, %d uploads at a time (a pool in the page), through a handler in front of tusd that holds every request %d ms before passing it on: each request-reply exchange takes one %d ms round trip longer (TCP handshakes and slow start are not modelled). Files per second: all %d files over the wall time; every run checked on the server (%d uploads, each with all its bytes). Requests and tusd's time inside each: last run.\n\n",
			sf.Files, sf.FileKiB, sf.Concurrency, sf.AddedRTTMs, sf.AddedRTTMs, sf.Files, sf.Files)
		b.WriteString("| contender | files/s | runs | requests/file | by method | tusd ms/request | peak memory |\n|---|--:|---|--:|---|--:|--:|\n")
		for _, r := range sf.Rows {
			fmt.Fprintf(&b, "| %s | %.1f | %v | %.2f | %s | %.1f | %.1f MiB |\n", r.Contender, r.MedianFilesPerS, r.FilesPerS, r.RequestsPerFile, methods(r.Methods), r.ServerMs, median(r.PeakMemRuns))
		}
	}
	if st := res.Stream; st != nil {
		fmt.Fprintf(&b, "\n## %s stream of unknown length (tuswasm)\n\n", sizeName(st.SizeMiB))
		b.WriteString("The picked file's `blob.stream()` without `uploadSize`: created with `Upload-Defer-Length`, the length declared with the last PATCH; each request's body is an in-memory Blob of the stream's kept chunks. Peak memory as in the throughput table (wasm + JS heap used). JS heap used includes ArrayBuffers' backing stores, where the stream's chunks live until collected; their own peak is shown too (CDP `Runtime.getHeapUsage`, every 50 ms).\n\n")
		if len(st.MiBps) > 0 {
			fmt.Fprintf(&b, "- %.0f MiB/s (runs %v), %d requests; tusd stored %d bytes\n", st.MedianMiBs, st.MiBps, st.Requests, st.StoredBytes)
			fmt.Fprintf(&b, "- peak memory %.1f MiB (runs %v; wasm up to %.1f, JS heap up to %.1f); ArrayBuffers up to %.1f MiB\n", st.PeakMemMiB, st.PeakMemRuns, st.PeakWasm, st.PeakHeap, st.PeakBuffers)
		}
		if st.Error != "" {
			fmt.Fprintf(&b, "- **run %d failed**: %s; onProgress had confirmed %d bytes (%.0f MiB), tusd held %d\n", st.FailedRun, st.Error, st.ErrorSent, float64(st.ErrorSent)/mib, st.ErrorStored)
		}
	}
	return b.String()
}

// workerSection is REPORT.md's section of the worker extra.
func workerSection(res *results) string {
	w := res.Worker
	if w == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Worker mode (`init({worker: true})`), %d MiB\n\n", w.SizeMiB)
	fmt.Fprintf(&b, "The same upload with tuswasm's defaults, the Go module on the page's main thread (`init()`) or in its dedicated Worker (`bench.html?worker`), alternating, a fresh page per run. Worker / main-thread throughput: **%.2f** (medians; median of per-round ratios %.2f).\n\n", res.WorkerVsMain, w.Paired)
	b.WriteString("| mode | MiB/s | runs | requests | between requests (tusd) | peak memory |\n|---|--:|---|--:|--:|--:|\n")
	for _, r := range w.Rows {
		fmt.Fprintf(&b, "| %s | %.0f | %v | %d | %.1f ms | %.1f MiB |\n", r.Contender, r.MedianMiBs, rounded(r.MiBps), r.Requests, median(r.GapMs), r.PeakMemMiB)
	}
	b.WriteString("\nPeak memory in worker mode is the page's JS heap plus the worker's wasm memory (as `stats()` reports it when the call ends; it only grows): the worker's own JS heap is not counted.\n\n")
	b.WriteString("### The page's main thread during the upload\n\n")
	fmt.Fprintf(&b, "Measured with V8's sampling profiler on the page (CDP `Profiler`, a sample every %d µs; it profiles the page's isolate, not the worker's): the samples that are not `(idle)` (V8 counts a sample idle while Blink's event loop waits for work) summed, each weighted by its interval as DevTools does. These are separate runs (%d per mode, alternating, fresh pages): the profiler slows the page, so the throughput above comes from unprofiled runs. They leave out the bench's 20 ms memory polling and force a GC before the upload, so the time is the upload's and the page's own. A longtask `PerformanceObserver` was not used: it only sees tasks of 50 ms or more, and main-thread mode spreads its work over short tasks. Cross-check: the CPU time of the main thread's tasks over the same runs (CDP `Performance.getMetrics` `TaskDuration`, thread ticks). The floor is a worker-mode page that uploads nothing for as long as a worker-mode upload took, measured the same way; per GiB it is counted over that time.\n\n", busyIntervalUs, len(w.MainThread[0].BusyMs))
	b.WriteString("| page | main thread busy per GiB | busy per upload (runs) | script / program / GC (medians) | task CPU per GiB | run time (runs) |\n|---|--:|---|---|--:|---|\n")
	for _, m := range w.MainThread {
		fmt.Fprintf(&b, "| %s | %.0f ms | %v ms | %.1f / %.1f / %.1f ms | %.0f ms | %v ms |\n", m.Contender, m.BusyMsPerGiB, m.BusyMs, median(m.ScriptMs), median(m.ProgramMs), median(m.GCMs), m.TaskCPUMsPerGiB, m.UploadMs)
	}
	if n := len(w.MainThread); n == 3 {
		fmt.Fprintf(&b, "\nAbove the floor: main-thread mode %.0f ms per GiB, worker mode %.0f ms per GiB.\n", w.MainThread[0].BusyMsPerGiB-w.MainThread[2].BusyMsPerGiB, w.MainThread[1].BusyMsPerGiB-w.MainThread[2].BusyMsPerGiB)
	}
	b.WriteString("\n### init() and size\n\n")
	fmt.Fprintf(&b, "- `init({worker: true})` with the bytes cached: %.0f ms (median of %d reloads: %v); `init()` right before it, measured the same way: %.0f ms (%v; the targets' row is from the bench's first page loads).\n", res.InitMsCachedWorker, len(w.InitRuns), rounded(w.InitRuns), median(w.InitMainRuns), rounded(w.InitMainRuns))
	fmt.Fprintf(&b, "- The wasm is the same file in both modes: %d B brotli (raw %d, gzip %d). Worker mode also loads `worker.js`, %d B raw.\n", res.WasmBrotli, res.WasmRaw, res.WasmGzip, w.WorkerJSBytes)
	return b.String()
}

func methods(m map[string]int) string {
	var parts []string
	for _, k := range []string{"OPTIONS", "POST", "HEAD", "PATCH"} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// logExtras prints the extras' summary figures after the run.
func logExtras(res *results) {
	if res.SmallFiles != nil {
		log.Printf("small files: tuswasm / tus-js-client %.2f (goal ≥ 1.0), / tus-js-client defaults %.2f (goal ≥ 1.5)", res.SmallFilesVsTusjs, res.SmallFilesVsTusjsDefault)
	}
	if w := res.Worker; w != nil {
		log.Printf("worker mode, %d MiB: throughput / main-thread mode %.2f (goal ≥ 0.95; paired %.2f); main thread busy %.0f ms/GiB (main-thread mode %.0f, idle floor %.0f); init() cached %.0f ms (main-thread mode %.0f)",
			w.SizeMiB, res.WorkerVsMain, w.Paired, res.MainThreadBusyWorker, res.MainThreadBusyMain, w.MainThread[len(w.MainThread)-1].BusyMsPerGiB, res.InitMsCachedWorker, median(w.InitMainRuns))
	}
	if st := res.Stream; st != nil && st.Error != "" {
		log.Printf("1 GiB stream: FAILED in run %d: %s", st.FailedRun, st.Error)
	} else if st != nil {
		log.Printf("1 GiB stream: peak memory %.1f MiB (goal ≤ 64), %.0f MiB/s", res.StreamPeakMem1G, res.StreamMiBs)
	}
}
