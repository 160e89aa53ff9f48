// Command bench measures tuswasm against tus-js-client and a raw fetch in one headless
// Chromium session, on loopback against an in-process tusd v2, and writes
// results.json, REPORT.md and chart.svg. `make bench` builds the wasm, installs
// tus-js-client into bench/.npm (bench only, never a runtime dependency) and runs it.
package main

import (
	"embed"
	"flag"
	"log"
	"os"
	"runtime"
	"strings"
	"time"
)

//go:embed page
var page embed.FS

const mib = 1 << 20

var (
	chromium = flag.String("chromium", "/usr/bin/chromium", "Chromium binary")
	jsDir    = flag.String("js", "js", "the built js/ package (make build)")
	tusJS    = flag.String("tus-js-client", "bench/.npm/node_modules/tus-js-client", "the installed tus-js-client package")
	uppyDir  = flag.String("uppy", "web/demo/.vendor/uppy", "Uppy's one-file build (make bench fetches it)")
	outDir   = flag.String("out", "bench", "where results.json, REPORT.md and chart.svg go")
	sizesArg = flag.String("sizes", "64,256,1024", "file sizes in MiB")
	runs     = flag.Int("runs", 7, "runs per contender and size (the median is reported)")
	only     = flag.String("only", "", "run only contenders whose label matches this regexp (quick comparisons)")
	extras   = flag.Bool("extras", true, "also run the extras -extras-list names")
	extraSet = flag.String("extras-list", strings.Join(extraNames, ","), "with -extras, which extras run: any of "+strings.Join(extraNames, ", "))
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

func main() {
	flag.Parse()
	log.SetFlags(0)
	if err := bench(); err != nil {
		log.Fatal("bench: ", err)
	}
}

// bench plans what to measure from the flags, runs it in one browser and summarises it
// into results.json, REPORT.md and chart.svg.
func bench() error {
	start := time.Now()
	p, err := newPlan()
	if err != nil {
		return err
	}
	res := &results{ChunkSizeMiB: equalChunk / mib, Date: time.Now().UTC().Format("2006-01-02"), Machine: machine(),
		Versions: map[string]string{"go": runtime.Version()}, Store: *store, Runs: p.runs}
	if err := measureWasm(res); err != nil {
		return err
	}
	r, stop, err := startRunner(res)
	if err != nil {
		return err
	}
	defer stop()
	if err := r.initTimes(res); err != nil {
		return err
	}
	if p.profile != "" {
		return r.profile(p)
	}
	if err := r.run(p, res); err != nil {
		return err
	}
	summarise(res)
	logExtras(res)
	res.Seconds = round(time.Since(start).Seconds(), 1)
	return write(res)
}
