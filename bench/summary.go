package main

import (
	"slices"
	"strconv"
)

// row is one contender at one size.
type row struct {
	Contender  string    `json:"contender"`
	SizeMiB    int       `json:"size_mib"`
	MiBps      []float64 `json:"mib_per_s"`
	MedianMiBs float64   `json:"median_mib_per_s"`
	// Peak memory during each run (wasm linear memory + JS heap used, sampled every
	// 20 ms; JS heap only for the others), and its median over the runs.
	PeakMemRuns []float64 `json:"peak_mem_mib_runs"`
	PeakMemMiB  float64   `json:"peak_mem_mib"`
	PeakWasm    float64   `json:"peak_wasm_mib"`
	PeakHeap    float64   `json:"peak_js_heap_mib"`
	// Time between one tus reply and the client's next request, summed over the
	// upload, per run (tus contenders only), and the requests per upload.
	GapMs    []float64 `json:"client_gap_ms_runs,omitempty"`
	Requests int       `json:"requests,omitempty"`
	// Time the server spent inside requests (receiving bodies, mostly), and the time of
	// the call outside the first request to the last reply (start-up, the end).
	BusyMs    []float64 `json:"server_busy_ms_runs,omitempty"`
	OutsideMs []float64 `json:"outside_requests_ms_runs,omitempty"`
}

// results is results.json: the summary figures first, then what they come from.
type results struct {
	TuswasmVsTusjs float64 `json:"tuswasm_vs_tusjs"`
	// The median of per-round ratios (both ran in each round, mostly back to back): less
	// sensitive to slow drift than the ratio of medians.
	TuswasmVsTusjsPaired float64 `json:"tuswasm_vs_tusjs_paired"`
	TuswasmVsFetch       float64 `json:"tuswasm_vs_fetch"`
	PeakMem1G            float64 `json:"peak_mem_1g_mib"`
	PeakMem64M           float64 `json:"peak_mem_64m_mib"`
	ChunkSizeMiB         int     `json:"chunk_size_mib"`
	WasmBrotli           int     `json:"wasm_brotli_bytes"`
	InitMs               float64 `json:"init_ms"`
	// init() over the start of the smallest Go js/wasm program built with the same flags
	// (bench/floor: compiled and run to its first call), same page and run; and what of
	// init() is its module's compilation alone (medians).
	InitVsGoFloor float64 `json:"init_vs_go_floor"`
	GoFloorMs     float64 `json:"go_floor_ms"`
	InitCompileMs float64 `json:"init_compile_ms"`
	ProgressGapS  float64 `json:"progress_max_gap_s_at_1mibs"`
	// The extras' figures, absent when skipped: tuswasm's files/s over those of
	// tus-js-client with the same options and with its defaults (small_files), and the
	// 1 GiB stream's peak memory and throughput (stream_1g; absent when it failed).
	SmallFilesVsTusjs        float64 `json:"small_files_vs_tusjs,omitempty"`
	SmallFilesVsTusjsDefault float64 `json:"small_files_vs_tusjs_default,omitempty"`
	// tuswasm's files/s over the round-trip limit: the connections (6) over one round
	// trip per file (creation with upload makes a small file one request).
	SmallFilesVsLimit float64 `json:"small_files_vs_limit,omitempty"`
	// The same for one fetch per file (no client): what this machine's browser and
	// server reach; and tuswasm's files/s over that.
	SmallFilesFetchVsLimit float64 `json:"small_files_fetch_vs_limit,omitempty"`
	SmallFilesVsFetch      float64 `json:"small_files_vs_fetch,omitempty"`
	StreamPeakMem1G        float64 `json:"stream_peak_mem_1g_mib,omitempty"`
	StreamMiBs             float64 `json:"stream_mib_per_s,omitempty"`
	// The stream's MiB/s over the same bytes as a file (tuswasm's defaults, 1 GiB).
	StreamVsFile float64 `json:"stream_vs_file,omitempty"`
	// Worker mode (the worker extra, at 256 MiB): its throughput over main-thread
	// mode's (medians), the page's main-thread time per GiB uploaded in each mode (V8 CPU
	// profile of the page, non-idle samples) and init() with the bytes cached. The wasm
	// is the same file in both modes: wasm_*_bytes.
	WorkerVsMain         float64 `json:"worker_vs_main,omitempty"`
	MainThreadBusyWorker float64 `json:"main_thread_busy_ms_per_gib_worker,omitempty"`
	MainThreadBusyMain   float64 `json:"main_thread_busy_ms_per_gib_main,omitempty"`
	InitMsCachedWorker   float64 `json:"init_ms_cached_worker,omitempty"`
	// The uppy extra: Uppy with tuswasm's plugin over Uppy with @uppy/tus, same plugin
	// options: files/s of the small-files case, and MiB/s of one 256 MiB file (medians).
	UppySmallFilesVsUppyTus float64 `json:"uppy_small_files_vs_uppy_tus,omitempty"`
	Uppy256MVsUppyTus       float64 `json:"uppy_256m_vs_uppy_tus,omitempty"`
	// The parallel extra (1 GiB, every connection capped at 40 MiB/s): tuswasm in 4 parts
	// over tuswasm in one upload and over tus-js-client in 4 parts (medians), tuswasm's
	// peak memory in 4 parts (as the rows'), and each one's MiB/s. A ratio is absent
	// when a run of either side failed (parallel_capped.errors).
	Parallel4VsSingle  float64 `json:"parallel4_vs_single_capped,omitempty"`
	Parallel4VsTusjs   float64 `json:"parallel4_vs_tusjs_capped,omitempty"`
	Parallel4PeakMem   float64 `json:"parallel4_peak_mem_mib,omitempty"`
	Parallel4MiBs      float64 `json:"parallel4_mib_per_s_capped,omitempty"`
	SingleCappedMiBs   float64 `json:"single_mib_per_s_capped,omitempty"`
	TusjsParallel4MiBs float64 `json:"tusjs_parallel4_mib_per_s_capped,omitempty"`
	// The fingerprint extra: ms to fingerprint a picked file of 1 MiB, 1 GiB and 4 GiB
	// (medians).
	FingerprintMs1M float64 `json:"fingerprint_ms_1m,omitempty"`
	FingerprintMs1G float64 `json:"fingerprint_ms_1g,omitempty"`
	FingerprintMs4G float64 `json:"fingerprint_ms_4g,omitempty"`
	// The node extra: tuswasm's MiB/s over tus-js-client's, both in Node.js, 1 GiB from
	// disk, equal chunks (medians), and each one's peak RSS (MiB, median).
	NodeVsTusjsNode  float64 `json:"node_vs_tusjs_node,omitempty"`
	NodePeakRSS      float64 `json:"node_peak_rss_mib,omitempty"`
	TusjsNodePeakRSS float64 `json:"tusjs_node_peak_rss_mib,omitempty"`

	WasmRaw      int               `json:"wasm_raw_bytes"`
	WasmPackages []pkgSize         `json:"wasm_top_packages"` // by code size (see wasmsize.go)
	WasmGzip     int               `json:"wasm_gzip_bytes"`
	InitRuns     []float64         `json:"init_ms_runs"`
	Rows         []row             `json:"rows"`
	ChunkSweep   []row             `json:"chunk_sweep_256mib"`
	Cadence      map[string]any    `json:"progress_cadence"`
	SmallFiles   *smallResult      `json:"small_files,omitempty"`
	Stream       *streamResult     `json:"stream_1g,omitempty"`
	Worker       *workerResult     `json:"worker_mode,omitempty"`
	Parallel     *parallelResult   `json:"parallel_capped,omitempty"`
	Fingerprint  []fingerprintRow  `json:"fingerprint,omitempty"`
	Uppy         *uppyResult       `json:"uppy,omitempty"`
	Node         *nodeResult       `json:"node,omitempty"`
	Date         string            `json:"date"`
	Machine      string            `json:"machine"`
	Versions     map[string]string `json:"versions"`
	Seconds      float64           `json:"bench_seconds"`
	Store        string            `json:"tusd_store"`
	Runs         int               `json:"runs"`
}

// summarise fills in the summary figures from the rows and the cadence test: the
// ratios at 256 MiB, the peak memory at 64 MiB and 1 GiB, the progress gap.
func summarise(res *results) {
	find := func(c contender, size int) row {
		for _, r := range res.Rows {
			if r.Contender == c.Label && r.SizeMiB == size {
				return r
			}
		}
		return row{}
	}
	if r := find(tusjsEqual, 256); r.MedianMiBs > 0 {
		w := find(tuswasmFixed, 256)
		res.TuswasmVsTusjs = round(w.MedianMiBs/r.MedianMiBs, 3)
		var paired []float64
		for i := range min(len(w.MiBps), len(r.MiBps)) {
			paired = append(paired, w.MiBps[i]/r.MiBps[i])
		}
		res.TuswasmVsTusjsPaired = round(median(paired), 3)
	}
	if r := find(rawFetch, 256); r.MedianMiBs > 0 {
		res.TuswasmVsFetch = round(find(tuswasmDefault, 256).MedianMiBs/r.MedianMiBs, 3)
	}
	res.PeakMem1G = round(find(tuswasmDefault, 1024).PeakMemMiB, 1)
	res.PeakMem64M = round(find(tuswasmDefault, 64).PeakMemMiB, 1)
	if res.Cadence != nil {
		res.ProgressGapS = res.Cadence[tuswasmDefault.Label].(float64)
	}
	if sf := res.SmallFiles; sf != nil {
		perS := map[string]float64{}
		for _, r := range sf.Rows {
			perS[r.Contender] = r.MedianFilesPerS
		}
		if w, t := perS[smallTuswasm.Label], perS[smallTusjs.Label]; t > 0 {
			res.SmallFilesVsTusjs = round(w/t, 3)
		}
		if w, t := perS[smallTuswasm.Label], perS[smallTusjsDefault.Label]; t > 0 {
			res.SmallFilesVsTusjsDefault = round(w/t, 3)
		}
		limit := smallConcurrency / smallRTT.Seconds()
		res.SmallFilesVsLimit = round(perS[smallTuswasm.Label]/limit, 3)
		if f := perS[smallFetch.Label]; f > 0 {
			res.SmallFilesFetchVsLimit = round(f/limit, 3)
			res.SmallFilesVsFetch = round(perS[smallTuswasm.Label]/f, 3)
		}
	}
	for _, f := range res.Fingerprint {
		switch f.SizeMiB {
		case 1:
			res.FingerprintMs1M = f.MedianMs
		case 1024:
			res.FingerprintMs1G = f.MedianMs
		case 4096:
			res.FingerprintMs4G = f.MedianMs
		}
	}
	if n := res.Node; n != nil && len(n.Rows) == 2 {
		if t := n.Rows[1].MedianMiBs; t > 0 && n.Rows[0].MedianMiBs > 0 {
			res.NodeVsTusjsNode = round(n.Rows[0].MedianMiBs/t, 3)
		}
		res.NodePeakRSS, res.TusjsNodePeakRSS = n.Rows[0].PeakRSSMiB, n.Rows[1].PeakRSSMiB
	}
	if u := res.Uppy; u != nil {
		if t := u.SmallFiles.Rows[1].MedianFilesPerS; t > 0 {
			res.UppySmallFilesVsUppyTus = round(u.SmallFiles.Rows[0].MedianFilesPerS/t, 3)
		}
		if t := u.Rows[1].MedianMiBs; t > 0 {
			res.Uppy256MVsUppyTus = round(u.Rows[0].MedianMiBs/t, 3)
		}
	}
	if st := res.Stream; st != nil && st.Error == "" {
		res.StreamPeakMem1G, res.StreamMiBs = st.PeakMemMiB, st.MedianMiBs
		if f := find(tuswasmDefault, st.SizeMiB); f.MedianMiBs > 0 && st.MedianMiBs > 0 {
			res.StreamVsFile = round(st.MedianMiBs/f.MedianMiBs, 3)
		}
	}
	if w := res.Worker; w != nil {
		if m := w.Rows[0].MedianMiBs; m > 0 {
			res.WorkerVsMain = round(w.Rows[1].MedianMiBs/m, 3)
		}
		for _, b := range w.MainThread {
			switch b.Contender {
			case tuswasmDefault.Label:
				res.MainThreadBusyMain = b.BusyMsPerGiB
			case tuswasmWorker.Label:
				res.MainThreadBusyWorker = b.BusyMsPerGiB
			}
		}
		res.InitMsCachedWorker = round(median(w.InitRuns), 1)
	}
	if pr := res.Parallel; pr != nil {
		// Rows as parallelContenders: tuswasm in parts, in one upload, tus-js-client.
		ok := func(i int) bool { return pr.Errors[pr.Rows[i].Contender] == "" && pr.Rows[i].MedianMiBs > 0 }
		p4, one, tjs := pr.Rows[0].MedianMiBs, pr.Rows[1].MedianMiBs, pr.Rows[2].MedianMiBs
		res.Parallel4MiBs, res.SingleCappedMiBs, res.TusjsParallel4MiBs = round(p4, 1), round(one, 1), round(tjs, 1)
		res.Parallel4PeakMem = round(pr.Rows[0].PeakMemMiB, 1)
		if ok(0) && ok(1) {
			res.Parallel4VsSingle = round(p4/one, 3)
		}
		if ok(0) && ok(2) {
			res.Parallel4VsTusjs = round(p4/tjs, 3)
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round(x float64, digits int) float64 {
	p, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', digits, 64), 64)
	return p
}

func rounded(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = round(x, 1)
	}
	return out
}
