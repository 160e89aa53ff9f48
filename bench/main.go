// Command bench measures tuswasm against tus-js-client and a raw fetch in one headless
// Chromium session, on loopback against an in-process tusd v2, and writes
// results.json, REPORT.md and chart.svg. `make bench` builds the wasm, installs
// tus-js-client into bench/.npm (bench only, never a runtime dependency) and runs it.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/tuswasm/tuswasm/engine"
	"github.com/tuswasm/tuswasm/internal/headless"
	"github.com/tuswasm/tuswasm/internal/tusdtest"
)

//go:embed page
var page embed.FS

const mib = 1 << 20

var (
	chromium = flag.String("chromium", "/usr/bin/chromium", "Chromium binary")
	jsDir    = flag.String("js", "js", "the built js/ package (make build)")
	tusJS    = flag.String("tus-js-client", "bench/.npm/node_modules/tus-js-client", "the installed tus-js-client package")
	outDir   = flag.String("out", "bench", "where results.json, REPORT.md and chart.svg go")
	sizesArg = flag.String("sizes", "64,256,1024", "file sizes in MiB")
	runs     = flag.Int("runs", 7, "runs per contender and size (the median is reported)")
	only     = flag.String("only", "", "run only contenders whose label matches this regexp (quick comparisons)")
	extras   = flag.Bool("extras", true, "also run the chunk size sweep and the progress cadence test")
	profile  = flag.String("profile", "", "only profile one upload (the first contender -only matches, first size) and write the V8 CPU profile here")
	store    = flag.String("store", defaultStore(), "where tusd stores uploads (tmpfs keeps disk noise out of the figures)")
)

// defaultStore is /dev/shm when it is there: the bench measures the client and the
// browser, not the disk, whose write-back stalls varied runs by +-15 % here.
func defaultStore() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// contender is one way of uploading the page's blob.
type contender struct {
	Label string         `json:"label"`
	Name  string         `json:"-"` // the page's contender
	Opts  map[string]any `json:"-"`
}

// equalChunk is the chunk size tuswasm and tus-js-client are compared at: tuswasm's
// default maximum.
const equalChunk = engine.DefaultChunkSize

var (
	tuswasmDefault = contender{"tuswasm (defaults)", "tuswasm", nil}
	tuswasmFixed   = contender{fmt.Sprintf("tuswasm (%d MiB fixed)", equalChunk/mib), "tuswasm", map[string]any{"chunkSize": equalChunk}}
	tusjsEqual     = contender{fmt.Sprintf("tus-js-client (%d MiB)", equalChunk/mib), "tus-js-client", map[string]any{"chunkSize": equalChunk}}
	tusjsDefault   = contender{"tus-js-client (defaults: one PATCH)", "tus-js-client", nil}
	rawFetch       = contender{"fetch (one POST, discarded)", "fetch", nil}
	fetchLoop      = contender{fmt.Sprintf("JS fetch PATCH loop (%d MiB)", equalChunk/mib), "fetch-tus", map[string]any{"chunkSize": equalChunk}}
	contenders     = []contender{tuswasmDefault, tuswasmFixed, tusjsEqual, tusjsDefault, rawFetch, fetchLoop}
)

// runResult is what the page's run() returns.
type runResult struct {
	Seconds       float64 `json:"seconds"`
	PeakHeap      float64 `json:"peakHeap"`
	PeakWasm      float64 `json:"peakWasm"`
	MaxGapS       float64 `json:"maxGapS"`
	ProgressCalls int     `json:"progressCalls"`
}

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
	ProgressGapS         float64 `json:"progress_max_gap_s_at_1mibs"`

	WasmRaw    int               `json:"wasm_raw_bytes"`
	WasmGzip   int               `json:"wasm_gzip_bytes"`
	InitRuns   []float64         `json:"init_ms_runs"`
	Rows       []row             `json:"rows"`
	ChunkSweep []row             `json:"chunk_sweep_256mib"`
	Cadence    map[string]any    `json:"progress_cadence"`
	Date       string            `json:"date"`
	Machine    string            `json:"machine"`
	Versions   map[string]string `json:"versions"`
	Seconds    float64           `json:"bench_seconds"`
	Store      string            `json:"tusd_store"`
	Runs       int               `json:"runs"`
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	if err := bench(); err != nil {
		log.Fatal("bench: ", err)
	}
}

func bench() error {
	start := time.Now()
	var sizes []int
	for _, s := range strings.Split(*sizesArg, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad -sizes %q", *sizesArg)
		}
		sizes = append(sizes, n)
	}
	res := &results{ChunkSizeMiB: equalChunk / mib, Date: time.Now().UTC().Format("2006-01-02"), Machine: machine(),
		Versions: map[string]string{"go": runtime.Version()}, Store: *store, Runs: *runs}

	wasm, err := os.ReadFile(filepath.Join(*jsDir, "tuswasm.wasm"))
	if err != nil {
		return fmt.Errorf("%w (run make build)", err)
	}
	res.WasmRaw, res.WasmGzip, res.WasmBrotli = len(wasm), gzipSize(wasm), brotliSize(wasm)
	log.Printf("wasm: %d raw, %d gzip, %d brotli", res.WasmRaw, res.WasmGzip, res.WasmBrotli)

	uploads, err := os.MkdirTemp(*store, "tuswasm-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(uploads)
	inputs, err := os.MkdirTemp("", "tuswasm-bench-files-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(inputs)
	origin, tl, err := serve(uploads, res)
	if err != nil {
		return err
	}

	tab, closeBrowser, err := startBrowser(res)
	if err != nil {
		return err
	}
	defer closeBrowser()
	if err := navigate(tab, origin+"/bench.html"); err != nil {
		return err
	}

	// init() with the bytes cached: reloads of the page.
	for range 7 {
		if err := reload(tab); err != nil {
			return err
		}
		ms, err := eval[float64](tab, `initMs`)
		if err != nil {
			return err
		}
		res.InitRuns = append(res.InitRuns, ms)
	}
	res.InitMs = median(res.InitRuns)
	log.Printf("init with cached bytes: median %.0f ms of %v", res.InitMs, rounded(res.InitRuns))

	measure := func(cs []contender, size int) ([]row, error) {
		path, err := writeInput(inputs, size)
		if err != nil {
			return nil, err
		}
		defer os.Remove(path)
		rows := make([]row, len(cs))
		for i, c := range cs {
			rows[i] = row{Contender: c.Label, SizeMiB: size}
		}
		for r := range *runs {
			for j := range cs {
				i := (j + r) % len(cs) // alternate the order between rounds
				// A fresh page per run: wasm memory never shrinks, so a peak is only
				// this upload's own in a fresh instance.
				if err := reload(tab); err != nil {
					return nil, err
				}
				if err := pick(tab, path, size); err != nil {
					return nil, err
				}
				tl.take()
				out, err := runOnce(tab, cs[i])
				if err != nil {
					return nil, fmt.Errorf("%s, %d MiB: %w", cs[i].Label, size, err)
				}
				spans := tl.take()
				gapMs, busyMs, spanMs := serverTimes(spans)
				removeContents(uploads)
				rw := &rows[i]
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
				if cs[i].Name == "tuswasm" {
					peak += out.PeakWasm / mib
				}
				rw.PeakMemRuns = append(rw.PeakMemRuns, peak)
			}
		}
		for i := range rows {
			rows[i].MedianMiBs = median(rows[i].MiBps)
			rows[i].PeakMemMiB = median(rows[i].PeakMemRuns)
			log.Printf("%4d MiB  %-36s %7.1f MiB/s  (runs %v)  peak %.1f MiB", size, rows[i].Contender, rows[i].MedianMiBs, rounded(rows[i].MiBps), rows[i].PeakMemMiB)
			if r := rows[i]; r.Requests > 0 {
				log.Printf("          %d requests; ms between requests %v, in requests %v, outside %v", r.Requests, r.GapMs, r.BusyMs, r.OutsideMs)
			}
		}
		return rows, nil
	}
	onlyRE, err := regexp.Compile(*only)
	if err != nil {
		return fmt.Errorf("bad -only: %w", err)
	}
	var cs []contender
	for _, c := range contenders {
		if onlyRE.MatchString(c.Label) {
			cs = append(cs, c)
		}
	}
	if *profile != "" && len(cs) > 0 {
		path, err := writeInput(inputs, sizes[0])
		if err == nil {
			err = pick(tab, path, sizes[0])
		}
		if err != nil {
			return err
		}
		return profileRun(tab, cs[0], *profile)
	}
	for _, size := range sizes {
		rows, err := measure(cs, size)
		if err != nil {
			return err
		}
		res.Rows = append(res.Rows, rows...)
	}
	if *extras {
		// The default maximum chunk size, chosen from this sweep.
		var sweep []contender
		for _, c := range []int{4, 8, 16, 32, 64} {
			sweep = append(sweep, contender{fmt.Sprintf("tuswasm (%d MiB fixed)", c), "tuswasm", map[string]any{"chunkSize": c * mib}})
		}
		sweep = append(sweep, tuswasmDefault)
		if res.ChunkSweep, err = measure(sweep, 256); err != nil {
			return err
		}
		if res.Cadence, err = cadence(tab, inputs); err != nil {
			return err
		}
		res.ProgressGapS = res.Cadence["tuswasm (defaults)"].(float64)
	}

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
	res.Seconds = round(time.Since(start).Seconds(), 1)
	return write(res)
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
func cadence(tab context.Context, inputs string) (map[string]any, error) {
	const size = 12
	path, err := writeInput(inputs, size)
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
		r, err := runOnce(tab, c)
		if err != nil {
			return nil, err
		}
		out[c.Label] = round(r.MaxGapS, 2)
		out[c.Label+" seconds"] = round(r.Seconds, 1)
		log.Printf("1 MiB/s: %-24s longest progress gap %.2f s over %.1f s (%d calls)", c.Label, r.MaxGapS, r.Seconds, r.ProgressCalls)
	}
	return out, nil
}

// serve starts tusd (behind a timeline of its requests), the discard handler, the
// built js/ package, tus-js-client and the bench page on one loopback origin.
func serve(uploads string, res *results) (string, *timeline, error) {
	tusd, err := tusdtest.NewHandler(uploads, tusdtest.Options{})
	if err != nil {
		return "", nil, err
	}
	tl := &timeline{next: tusd}
	if b, err := os.ReadFile(filepath.Join(*tusJS, "package.json")); err == nil {
		var pkg struct{ Version string }
		_ = json.Unmarshal(b, &pkg)
		res.Versions["tus-js-client"] = pkg.Version
	} else {
		return "", nil, fmt.Errorf("tus-js-client not installed (make bench installs it): %w", err)
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/tus/tusd/v2" {
				res.Versions["tusd"] = d.Version
			}
		}
	}
	pageFS, _ := fs.Sub(page, "page")
	mux := http.NewServeMux()
	mux.Handle("/files/", tl)
	mux.Handle("/files", tl)
	mux.HandleFunc("/discard", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	cached := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=3600")
			h.ServeHTTP(w, r)
		})
	}
	mux.Handle("/js/", cached(http.StripPrefix("/js/", http.FileServer(http.Dir(*jsDir)))))
	mux.Handle("/vendor/tus.min.js", cached(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(*tusJS, "dist", "tus.min.js"))
	})))
	mux.Handle("/", http.FileServer(http.FS(pageFS)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go http.Serve(ln, mux)
	return "http://" + ln.Addr().String(), tl, nil
}

func startBrowser(res *results) (context.Context, func(), error) {
	profile, err := os.MkdirTemp("", "tuswasm-bench-profile-")
	if err != nil {
		return nil, nil, err
	}
	opts := headless.Options(*chromium, profile, // as the e2e suite, plus exact memory readings
		chromedp.Flag("enable-precise-memory-info", true),
		chromedp.Flag("js-flags", "--expose-gc"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	stop := func() { cancel(); cancelAlloc(); os.RemoveAll(profile) }
	if err := chromedp.Do(ctx); err != nil {
		stop()
		return nil, nil, fmt.Errorf("starting Chromium: %w", err)
	}
	if v, err := chromedp.Call(ctx, browser.GetVersion, cdp.Empty{}); err == nil {
		res.Versions["chromium"] = v.Product
	}
	return ctx, stop, nil
}

// settle turns CDP's Network domain off (it slows request bodies ~30x) and waits for
// tuswasm.
func settle(tab context.Context) error {
	if _, err := chromedp.Call(tab, network.Disable, cdp.Empty{}); err != nil {
		return err
	}
	_, err := eval[bool](tab, `benchReady`)
	return err
}

func navigate(tab context.Context, url string) error {
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		return err
	}
	return settle(tab)
}

func reload(tab context.Context) error {
	if err := chromedp.Do(tab, chromedp.Reload()); err != nil {
		return err
	}
	return settle(tab)
}

func eval[T any](tab context.Context, js string) (T, error) {
	ctx, cancel := context.WithTimeout(tab, 5*time.Minute)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
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
	block := make([]byte, mib)
	x := uint32(2463534242)
	for i := range block {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		block[i] = byte(x)
	}
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

func gzipSize(b []byte) int {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Len()
}

func brotliSize(b []byte) int {
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, brotli.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Len()
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			if kb, err := strconv.Atoi(f[1]); err == nil {
				mem = fmt.Sprintf(", %d GiB RAM", (kb+(1<<19))>>20)
			}
		}
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	return fmt.Sprintf("%d × %s%s, %s", runtime.NumCPU(), cpu, mem, strings.TrimSpace(string(kernel)))
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
