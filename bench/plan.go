package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tuswasm/tuswasm/engine"
)

// contender is one way of uploading the page's blob.
type contender struct {
	Label string         `json:"label"`
	Name  string         `json:"-"` // the page's contender
	Opts  map[string]any `json:"-"`
	// Worker: the page loads tuswasm with init({worker: true}) (bench.html?worker).
	Worker bool `json:"-"`
}

// usesWasm says whether c uploads with tuswasm, whose wasm memory then counts in its
// peak (every page holds an idle tuswasm).
func (c contender) usesWasm() bool { return c.Name == "tuswasm" || c.Name == "uppy-tuswasm" }

// equalChunk is the chunk size tuswasm and tus-js-client are compared at: tuswasm's
// default maximum.
const equalChunk = engine.DefaultChunkSize

var (
	tuswasmDefault = contender{Label: "tuswasm (defaults)", Name: "tuswasm"}
	tuswasmFixed   = contender{Label: fmt.Sprintf("tuswasm (%d MiB fixed)", equalChunk/mib), Name: "tuswasm", Opts: map[string]any{"chunkSize": equalChunk}}
	tusjsEqual     = contender{Label: fmt.Sprintf("tus-js-client (%d MiB)", equalChunk/mib), Name: "tus-js-client", Opts: map[string]any{"chunkSize": equalChunk}}
	tusjsDefault   = contender{Label: "tus-js-client (defaults: one PATCH)", Name: "tus-js-client"}
	rawFetch       = contender{Label: "fetch (one POST, discarded)", Name: "fetch"}
	fetchLoop      = contender{Label: fmt.Sprintf("JS fetch PATCH loop (%d MiB)", equalChunk/mib), Name: "fetch-tus", Opts: map[string]any{"chunkSize": equalChunk}}
	contenders     = []contender{tuswasmDefault, tuswasmFixed, tusjsEqual, tusjsDefault, rawFetch, fetchLoop}
	// tuswasmWorker runs only in the worker extra (worker.go), at workerSize, paired
	// with tuswasmDefault: it is the same upload with the Go module in a Worker.
	tuswasmWorker = contender{Label: "tuswasm (worker, defaults)", Name: "tuswasm", Worker: true}
)

// sweepSize is the file size (MiB) of the chunk size sweep.
const sweepSize = 256

// plan is what one bench measures, from the flags.
type plan struct {
	sizes      []int       // file sizes in MiB, each uploaded by every contender
	contenders []contender // those -only matches
	runs       int         // per contender and size
	// With -extras (as -extras-list names them): the chunk size sweep (at sweepSize),
	// the progress cadence test, many small files over a slow round trip (smallfiles.go),
	// a 1 GiB stream of unknown length (stream.go), and worker mode against main-thread
	// mode (worker.go; also skipped when -only does not match tuswasmWorker's label), and
	// a 1 GiB file in parts and in one upload over capped connections (parallel.go;
	// skipped when -only matches none of its contenders, run whole otherwise: its figures
	// are ratios between them).
	sweep      []contender
	cadence    bool
	smallFiles bool
	stream     bool
	worker     bool
	parallel   bool
	// fingerprint: what the content-sampled fingerprint costs per file (fingerprint.go).
	fingerprint bool
	// uppy: Uppy with tuswasm's plugin against Uppy with @uppy/tus (uppy.go).
	uppy bool
	// node: tuswasm in Node.js against tus-js-client in Node.js, 1 GiB from disk
	// (node.go).
	node bool
	// profile, when set, replaces all of the above: one upload of contenders[0] at
	// sizes[0] under the profiler, written here. Unset when -only matched nothing.
	profile string
}

// extraNames are the extras, in the order they run.
var extraNames = []string{"sweep", "cadence", "small-files", "stream", "worker", "parallel", "fingerprint", "uppy", "node"}

func newPlan() (plan, error) {
	p := plan{runs: *runs}
	on := map[string]bool{}
	for _, e := range strings.Split(*extraSet, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if !slices.Contains(extraNames, e) {
			return plan{}, fmt.Errorf("bad -extras-list: %q is none of %s", e, strings.Join(extraNames, ", "))
		}
		on[e] = *extras
	}
	p.cadence, p.smallFiles, p.stream, p.fingerprint, p.uppy, p.node = on["cadence"], on["small-files"], on["stream"], on["fingerprint"], on["uppy"], on["node"]
	for _, s := range strings.Split(*sizesArg, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return plan{}, fmt.Errorf("bad -sizes %q", *sizesArg)
		}
		p.sizes = append(p.sizes, n)
	}
	onlyRE, err := regexp.Compile(*only)
	if err != nil {
		return plan{}, fmt.Errorf("bad -only: %w", err)
	}
	for _, c := range contenders {
		if onlyRE.MatchString(c.Label) {
			p.contenders = append(p.contenders, c)
		}
	}
	p.worker = on["worker"] && onlyRE.MatchString(tuswasmWorker.Label)
	p.parallel = on["parallel"] && slices.ContainsFunc(parallelContenders, func(c contender) bool { return onlyRE.MatchString(c.Label) })
	if *profile != "" && len(p.contenders) > 0 {
		p.profile = *profile
	}
	if on["sweep"] {
		// The default maximum chunk size, chosen from this sweep.
		for _, c := range []int{4, 8, 16, 32, 64} {
			p.sweep = append(p.sweep, contender{Label: fmt.Sprintf("tuswasm (%d MiB fixed)", c), Name: "tuswasm", Opts: map[string]any{"chunkSize": c * mib}})
		}
		p.sweep = append(p.sweep, tuswasmDefault)
	}
	return p, nil
}
