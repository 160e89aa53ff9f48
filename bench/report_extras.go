package main

import (
	"fmt"
	"log"
	"strings"
)

// extraTargets are the target table's rows of the extras that ran.
func extraTargets(res *results, pass func(bool) string) string {
	var b strings.Builder
	if sf := res.SmallFiles; sf != nil {
		fmt.Fprintf(&b, "| %d × %d KiB files, +%d ms RTT: tuswasm / tus-js-client, both creation with upload ≥ 1.0 | %.2f | %s |\n", sf.Files, sf.FileKiB, sf.AddedRTTMs, res.SmallFilesVsTusjs, pass(res.SmallFilesVsTusjs >= 1))
		fmt.Fprintf(&b, "| the same: tuswasm / tus-js-client defaults ≥ 1.5 | %.2f | %s |\n", res.SmallFilesVsTusjsDefault, pass(res.SmallFilesVsTusjsDefault >= 1.5))
		fmt.Fprintf(&b, "| the same: tuswasm / the round-trip limit (%d connections ÷ %d ms) ≥ 0.9 | %.2f (one fetch per file, no client: %.2f) | %s |\n", sf.Concurrency, sf.AddedRTTMs, res.SmallFilesVsLimit, res.SmallFilesFetchVsLimit, pass(res.SmallFilesVsLimit >= 0.9))
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
	if pr := res.Parallel; pr != nil {
		ratio := func(v, paired float64) string {
			if v == 0 {
				return "failed (below)"
			}
			return fmt.Sprintf("%.2f (median of per-round ratios %.2f)", v, paired)
		}
		fmt.Fprintf(&b, "| %s, %d MiB/s per connection: tuswasm %d parts / one upload ≥ 3.0 | %s | %s |\n", sizeName(pr.SizeMiB), pr.CapMiBs, pr.Parts, ratio(res.Parallel4VsSingle, pr.PairedVsSingle), pass(res.Parallel4VsSingle >= 3))
		fmt.Fprintf(&b, "| the same: tuswasm %d parts / tus-js-client %d parts ≥ 1.0 | %s | %s |\n", pr.Parts, pr.Parts, ratio(res.Parallel4VsTusjs, pr.PairedVsTusjs), pass(res.Parallel4VsTusjs >= 1))
		fmt.Fprintf(&b, "| peak memory, tuswasm %d parts, %s ≤ 64 MiB | %.1f MiB | %s |\n", pr.Parts, sizeName(pr.SizeMiB), res.Parallel4PeakMem, pass(res.Parallel4PeakMem > 0 && res.Parallel4PeakMem <= 64))
	}
	if u := res.Uppy; u != nil {
		fmt.Fprintf(&b, "| Uppy, %d × %d KiB files, +%d ms RTT: tuswasm/uppy / @uppy/tus, same options ≥ 1.0 | %.2f | %s |\n", u.SmallFiles.Files, u.SmallFiles.FileKiB, u.SmallFiles.AddedRTTMs, res.UppySmallFilesVsUppyTus, pass(res.UppySmallFilesVsUppyTus >= 1))
		fmt.Fprintf(&b, "| Uppy, one %d MiB file: tuswasm/uppy / @uppy/tus ≥ 0.95 | %.2f | %s |\n", u.SizeMiB, res.Uppy256MVsUppyTus, pass(res.Uppy256MVsUppyTus >= 0.95))
	}
	if n := res.Node; n != nil {
		ratio := "failed (below)"
		if res.NodeVsTusjsNode > 0 {
			ratio = fmt.Sprintf("%.2f", res.NodeVsTusjsNode)
		}
		fmt.Fprintf(&b, "| Node.js, %s from disk, %d MiB chunks: tuswasm / tus-js-client | %s | measured |\n", sizeName(n.SizeMiB), n.ChunkMiB, ratio)
		fmt.Fprintf(&b, "| Node.js, peak RSS of the process: tuswasm / tus-js-client | %.0f / %.0f MiB | measured |\n", res.NodePeakRSS, res.TusjsNodePeakRSS)
	}
	if len(res.Fingerprint) > 0 {
		fmt.Fprintf(&b, "| fingerprint before resuming (1 MiB / 1 GiB / 4 GiB file) | %.1f / %.1f / %.1f ms | measured |\n", res.FingerprintMs1M, res.FingerprintMs1G, res.FingerprintMs4G)
	}
	return b.String()
}

// extraSections are REPORT.md's sections of the small-files, stream and parallel runs.
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
	b.WriteString(parallelSection(res))
	if n := res.Node; n != nil {
		fmt.Fprintf(&b, "\n## Node.js: %s from disk (node_vs_tusjs_node)\n\n", sizeName(n.SizeMiB))
		fmt.Fprintf(&b, "tuswasm's Node entry with `fs.openAsBlob` against tus-js-client %s's Node build with `fs.createReadStream` (which it re-reads per chunk from the path), %d MiB chunks for both, the same tusd, %s; each run a fresh `node` process. MiB/s from the call to its success; peak RSS of the process (VmHWM), which includes Node itself and, for tuswasm, the compiled module.\n\n", res.Versions["tus-js-client"], n.ChunkMiB, n.Node)
		b.WriteString("| contender | MiB/s | runs | peak RSS | runs |\n|---|--:|---|--:|---|\n")
		for _, r := range n.Rows {
			fmt.Fprintf(&b, "| %s | %.0f | %v | %.0f MiB | %v |\n", r.Contender, r.MedianMiBs, r.MiBps, r.PeakRSSMiB, r.PeakRSSRuns)
		}
		for c, e := range n.Errors {
			fmt.Fprintf(&b, "\n%s failed: %s\n", c, e)
		}
	}
	return b.String()
}

// parallelSection is REPORT.md's section of the parallel run.
func parallelSection(res *results) string {
	pr := res.Parallel
	if pr == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Parallel uploads, %s, %d MiB/s per connection\n\n", sizeName(pr.SizeMiB), pr.CapMiBs)
	fmt.Fprintf(&b, "A handler in front of tusd caps each TCP connection at %d MiB/s: a token bucket per connection (256 KiB deep) that tusd's reads of request bodies pay into, shared by all the requests the connection carries. It models a proxy that shapes each connection, or a long link where one TCP connection moves at most its window per round trip; the connections share no bottleneck but the machine's two cores, and no round trip is added. The file is picked from disk; %d alternating runs, a fresh page each. Every run is checked on the server: tusd holds all %d bytes under the URL the client resolved to, for a parallel upload a final upload of %d partial uploads (tusd's filestore copies them into it), and tuswasm's `result.parts` says as many parts. The time includes the final upload's creation, in which tusd copies the parts.\n\n",
		pr.CapMiBs, pr.Runs, pr.SizeMiB*mib, pr.Parts)
	b.WriteString("| contender | MiB/s | runs | sending, MiB/s | final POST (tusd joins the parts) | requests | most bodies at once | peak memory |\n|---|--:|---|--:|--:|--:|--:|--:|\n")
	for i, r := range pr.Rows {
		ph := pr.Phases[i]
		final := "–"
		if len(ph.FinalPostMs) > 0 {
			final = fmt.Sprintf("%.0f ms", median(ph.FinalPostMs))
		}
		fmt.Fprintf(&b, "| %s | %.0f | %v | %.0f | %s | %d | %d | %.1f MiB |\n", r.Contender, r.MedianMiBs, rounded(r.MiBps), median(ph.SendMiBs), final, r.Requests, pr.MaxConcurrent[i], r.PeakMemMiB)
	}
	fmt.Fprintf(&b, "\nSending: the file's size over the time from tusd's first request to the final POST's arrival (to the last reply for one upload); the final POST: tusd's time inside it, where its filestore copies the parts into the final upload, a cost of the server that every client pays alike and the ratios include. tus-js-client's parts send %d MiB chunks, tuswasm's default maximum, which its adaptive chunks reach at this rate. Peak memory as in the throughput table. Requests: tusd's count in the last run; most bodies at once: the most requests whose bodies tusd was reading at the same time, over the runs. Medians.\n", res.ChunkSizeMiB)
	for _, r := range pr.Rows {
		if e := pr.Errors[r.Contender]; e != "" {
			fmt.Fprintf(&b, "- **%s failed** (its later runs skipped): %s\n", r.Contender, e)
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
		log.Printf("small files: tuswasm / round-trip limit %.2f (goal ≥ 0.9), / tus-js-client %.2f (goal ≥ 1.15), / tus-js-client defaults %.2f; one fetch per file / limit %.2f, tuswasm / that %.2f", res.SmallFilesVsLimit, res.SmallFilesVsTusjs, res.SmallFilesVsTusjsDefault, res.SmallFilesFetchVsLimit, res.SmallFilesVsFetch)
	}
	if res.Uppy != nil {
		log.Printf("uppy: tuswasm/uppy / @uppy/tus, small files %.2f (goal ≥ 1.0), %d MiB %.2f (goal ≥ 0.95)", res.UppySmallFilesVsUppyTus, res.Uppy.SizeMiB, res.Uppy256MVsUppyTus)
	}
	if w := res.Worker; w != nil {
		log.Printf("worker mode, %d MiB: throughput / main-thread mode %.2f (goal ≥ 0.95; paired %.2f); main thread busy %.0f ms/GiB (main-thread mode %.0f, idle floor %.0f); init() cached %.0f ms (main-thread mode %.0f)",
			w.SizeMiB, res.WorkerVsMain, w.Paired, res.MainThreadBusyWorker, res.MainThreadBusyMain, w.MainThread[len(w.MainThread)-1].BusyMsPerGiB, res.InitMsCachedWorker, median(w.InitMainRuns))
	}
	if pr := res.Parallel; pr != nil {
		log.Printf("parallel, %s at %d MiB/s per connection: tuswasm %d parts / one upload %.2f (goal ≥ 3.0; paired %.2f), / tus-js-client %d parts %.2f (goal ≥ 1.0; paired %.2f); %.0f / %.0f / %.0f MiB/s; peak memory %.1f MiB (goal ≤ 64)",
			sizeName(pr.SizeMiB), pr.CapMiBs, pr.Parts, res.Parallel4VsSingle, pr.PairedVsSingle, pr.Parts, res.Parallel4VsTusjs, pr.PairedVsTusjs, res.Parallel4MiBs, res.SingleCappedMiBs, res.TusjsParallel4MiBs, res.Parallel4PeakMem)
		for c, e := range pr.Errors {
			log.Printf("parallel: %s FAILED: %s", c, e)
		}
	}
	if n := res.Node; n != nil {
		log.Printf("node, %s from disk: tuswasm / tus-js-client %.2f; peak RSS %.0f / %.0f MiB", sizeName(n.SizeMiB), res.NodeVsTusjsNode, res.NodePeakRSS, res.TusjsNodePeakRSS)
	}
	if len(res.Fingerprint) > 0 {
		log.Printf("fingerprint: %.1f ms (1 MiB), %.1f ms (1 GiB), %.1f ms (4 GiB)", res.FingerprintMs1M, res.FingerprintMs1G, res.FingerprintMs4G)
	}
	if st := res.Stream; st != nil && st.Error != "" {
		log.Printf("1 GiB stream: FAILED in run %d: %s", st.FailedRun, st.Error)
	} else if st != nil {
		log.Printf("1 GiB stream: peak memory %.1f MiB (goal ≤ 64), %.0f MiB/s, %.2f of the file's (goal ≥ 0.8)", res.StreamPeakMem1G, res.StreamMiBs, res.StreamVsFile)
	}
}
