package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"
)

// The parallel extra: a 1 GiB file over connections each capped at 40 MiB/s
// (conncap.go), where one upload cannot go faster than one connection and parallel
// uploads (concatenation) are worth their extra requests.
const (
	parallelSize  = 1024 // MiB
	parallelParts = 4
	parallelCap   = 40 // MiB/s per connection
)

var (
	parallelTuswasm = contender{Label: fmt.Sprintf("tuswasm (%d parts)", parallelParts), Name: "tuswasm", Opts: map[string]any{"parallelUploads": parallelParts}}
	parallelSingle  = contender{Label: "tuswasm (one upload, defaults)", Name: "tuswasm"}
	// tus-js-client's parts get chunkSize equalChunk, tuswasm's default maximum, which
	// its adaptive chunks reach at this rate (a second per request): both then send
	// 32 MiB PATCHes. Its own default, one PATCH per part, would differ in request count
	// only, which at 40 MiB/s costs next to nothing either way.
	parallelTusjs      = contender{Label: fmt.Sprintf("tus-js-client (%d parts, %d MiB chunks)", parallelParts, equalChunk/mib), Name: "tus-js-client", Opts: map[string]any{"parallelUploads": parallelParts, "chunkSize": equalChunk}}
	parallelContenders = []contender{parallelTuswasm, parallelSingle, parallelTusjs}
)

// parallelResult is results.json's parallel_capped.
type parallelResult struct {
	SizeMiB int `json:"size_mib"`
	CapMiBs int `json:"cap_mib_per_s_per_connection"`
	Parts   int `json:"parts"`
	Runs    int `json:"runs"` // per contender, unless it failed
	// As parallelContenders, alternating as the other rows; peak memory sampled as
	// theirs. A contender whose run failed has the runs before it.
	Rows []row `json:"rows"`
	// The most requests with a body tusd was reading at once, per contender, largest
	// over its runs: 4 parts should keep 4 connections busy.
	MaxConcurrent []int `json:"max_concurrent_bodies"`
	// Medians of per-round ratios: tuswasm in parts over one upload and over tus-js-client.
	PairedVsSingle float64 `json:"parallel_vs_single_paired"`
	PairedVsTusjs  float64 `json:"parallel_vs_tusjs_paired"`
	// Each contender's runs in two phases, from tusd's requests: the parts (or the one
	// upload) being sent, and the final upload's creation, in which tusd's filestore
	// copies the parts into the final upload: a server cost every client pays alike.
	Phases []parallelPhases `json:"phases"`
	// What tusd stored under each contender's URL in its last run: checked every run.
	Stored []storedCheck `json:"stored"`
	// A failed run (the page's error or a wrong stored upload) ends that contender's
	// runs: a finding, not the bench's end.
	Errors map[string]string `json:"errors,omitempty"`
}

// parallelPhases splits one contender's runs at the final upload's POST.
type parallelPhases struct {
	Contender string `json:"contender"`
	// The file's size over the time from tusd's first request to the final POST's
	// arrival (to the last reply for one upload): the rate the client sent at.
	SendMiBs []float64 `json:"send_mib_per_s_runs"`
	// tusd's time inside the final POST; none for one upload.
	FinalPostMs []float64 `json:"final_post_ms_runs,omitempty"`
}

// add records a run's phases from its requests, in order of arrival; final: the last
// is the final upload's POST.
func (ph *parallelPhases) add(spans []span, final bool) {
	if len(spans) == 0 {
		return
	}
	first, last := spans[0], spans[len(spans)-1]
	end := last.end
	if final && last.method == "POST" {
		end = last.start
		ph.FinalPostMs = append(ph.FinalPostMs, round(float64(last.end.Sub(last.start))/float64(time.Millisecond), 1))
	}
	ph.SendMiBs = append(ph.SendMiBs, round(parallelSize/end.Sub(first.start).Seconds(), 1))
}

// storedCheck is the upload tusd holds under the URL a contender resolved to.
type storedCheck struct {
	Contender string `json:"contender"`
	ID        string `json:"id"`
	Size      int64  `json:"size"`
	Bytes     int64  `json:"bytes"`
	Final     bool   `json:"final"`
	Parts     int    `json:"partial_uploads"`
	// tuswasm's result.parts (0 for tus-js-client, whose Upload does not say).
	ClientParts int `json:"client_parts,omitempty"`
}

// parallel uploads a parallelSize file runs times with each parallel contender, each
// connection capped at parallelCap, and checks every upload on the server.
func (r *runner) parallel(runs int) (*parallelResult, error) {
	path, err := writeInput(r.inputs, parallelSize)
	if err != nil {
		return nil, err
	}
	defer os.Remove(path)
	r.connCap.set(parallelCap * mib)
	defer r.connCap.set(0)
	res := &parallelResult{SizeMiB: parallelSize, CapMiBs: parallelCap, Parts: parallelParts, Runs: runs,
		Rows: make([]row, len(parallelContenders)), MaxConcurrent: make([]int, len(parallelContenders)),
		Stored: make([]storedCheck, len(parallelContenders)), Phases: make([]parallelPhases, len(parallelContenders)),
		Errors: map[string]string{}}
	for i, c := range parallelContenders {
		res.Rows[i] = row{Contender: c.Label, SizeMiB: parallelSize}
		res.Phases[i].Contender = c.Label
	}
	for k := range runs {
		for j := range parallelContenders {
			i := (j + k) % len(parallelContenders) // alternate the order between rounds
			c := parallelContenders[i]
			if res.Errors[c.Label] != "" {
				continue
			}
			// A fresh page per run, as measure's: a peak is only this upload's.
			if err := r.open(false); err != nil {
				return nil, err
			}
			if err := pick(r.tab, path, parallelSize); err != nil {
				return nil, err
			}
			removeContents(r.uploads)
			r.tl.take()
			r.connCap.takePeak()
			out, err := runOnce(r.tab, c)
			spans := r.tl.take()
			res.MaxConcurrent[i] = max(res.MaxConcurrent[i], r.connCap.takePeak())
			var chk storedCheck
			if err == nil {
				chk, err = checkParallel(r.uploads, c, out)
			}
			removeContents(r.uploads)
			if err != nil {
				res.Errors[c.Label] = fmt.Sprintf("run %d: %v", k+1, err)
				log.Printf("%4d MiB capped  %-36s FAILED in run %d: %v", parallelSize, c.Label, k+1, err)
				continue
			}
			chk.Contender = c.Label
			res.Stored[i] = chk
			record(&res.Rows[i], c, parallelSize, out, spans)
			res.Phases[i].add(spans, chk.Final)
		}
	}
	for i := range res.Rows {
		rw := &res.Rows[i]
		rw.MedianMiBs = median(rw.MiBps)
		rw.PeakMemMiB = median(rw.PeakMemRuns)
		ph := res.Phases[i]
		log.Printf("%4d MiB, %d MiB/s per connection  %-40s %6.1f MiB/s  (runs %v)  peak %.1f MiB  %d requests, at most %d bodies at once; sending %v MiB/s, final POST %v ms",
			parallelSize, parallelCap, rw.Contender, rw.MedianMiBs, rounded(rw.MiBps), rw.PeakMemMiB, rw.Requests, res.MaxConcurrent[i], ph.SendMiBs, ph.FinalPostMs)
	}
	res.PairedVsSingle = pairedRatio(res.Rows[0], res.Rows[1])
	res.PairedVsTusjs = pairedRatio(res.Rows[0], res.Rows[2])
	return res, nil
}

// pairedRatio is the median of a's runs over b's, round by round.
func pairedRatio(a, b row) float64 {
	var rs []float64
	for i := range min(len(a.MiBps), len(b.MiBps)) {
		rs = append(rs, a.MiBps[i]/b.MiBps[i])
	}
	return round(median(rs), 3)
}

// checkParallel reads what tusd stored under the URL c's run resolved to: all of the
// file, and for c's parallelUploads a final upload made of that many partial uploads
// (tusd's filestore copies the parts into the final upload's own file, so its size is
// the joined file's). tuswasm also says in how many parts it went: a silent fallback to
// one upload would not be a parallel upload's figure.
func checkParallel(uploads string, c contender, out runResult) (storedCheck, error) {
	want := int64(parallelSize) * mib
	parts := 1
	if n, ok := c.Opts["parallelUploads"].(int); ok {
		parts = n
	}
	u, err := url.Parse(out.URL)
	if err != nil || out.URL == "" {
		return storedCheck{}, fmt.Errorf("the page resolved to no upload URL (%q)", out.URL)
	}
	id := path.Base(u.Path)
	b, err := os.ReadFile(filepath.Join(uploads, id+".info"))
	if err != nil {
		return storedCheck{}, fmt.Errorf("tusd holds no upload %s: %w", id, err)
	}
	var info handler.FileInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return storedCheck{}, err
	}
	bin := info.Storage[filestore.StorageKeyPath]
	if bin == "" {
		bin = filepath.Join(uploads, id)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return storedCheck{}, err
	}
	chk := storedCheck{ID: id, Size: info.Size, Bytes: fi.Size(), Final: info.IsFinal, Parts: len(info.PartialUploads), ClientParts: out.Parts}
	switch {
	case chk.Size != want || chk.Bytes != want || info.IsPartial:
		err = fmt.Errorf("tusd holds %+v under %s, want %d bytes", chk, id, want)
	case parts > 1 && (!chk.Final || chk.Parts != parts):
		err = fmt.Errorf("tusd holds %+v under %s, want a final upload of %d parts", chk, id, parts)
	case parts == 1 && chk.Final:
		err = fmt.Errorf("tusd holds a final upload under %s (%+v), want a single one", id, chk)
	case c.Name == "tuswasm" && out.Parts != parts:
		err = fmt.Errorf("tuswasm's result says %d parts, want %d", out.Parts, parts)
	}
	return chk, err
}
