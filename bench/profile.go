package main

import (
	"cmp"
	"context"
	"encoding/json"
	"log"
	"maps"
	"os"
	"slices"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"
)

// profileRun runs c once under V8's sampling profiler, writes the profile to path (open
// it in DevTools' Performance panel) and logs the functions with the most self time.
// Function names of the wasm need a build that keeps its name section (no -ldflags=-s):
//
//	make bench WASM_FLAGS="-trimpath -gcflags=all=-l -tags nethttpomithttp2" BENCH_ARGS="-profile p.cpuprofile -sizes 256"
func profileRun(tab context.Context, c contender, path string) error {
	var out runResult
	prof, err := profiled(tab, 100, func() (err error) {
		out, err = runOnce(tab, c)
		return err
	})
	if err != nil {
		return err
	}
	b, err := json.Marshal(prof)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	self := map[string]float64{} // ms by function
	names := map[int64]string{}
	for _, n := range prof.Nodes {
		names[n.ID] = n.CallFrame.FunctionName
		if names[n.ID] == "" {
			names[n.ID] = "(anonymous " + n.CallFrame.URL + ")"
		}
	}
	for i, id := range prof.Samples {
		if i < len(prof.TimeDeltas) {
			self[names[id]] += float64(prof.TimeDeltas[i]) / 1000
		}
	}
	keys := slices.SortedFunc(maps.Keys(self), func(a, b string) int { return cmp.Compare(self[b], self[a]) })
	log.Printf("profile of %s (%.0f ms), written to %s; self time:", c.Label, out.Seconds*1000, path)
	for _, k := range keys[:min(len(keys), 30)] {
		log.Printf("  %8.1f ms  %s", self[k], k)
	}
	return nil
}

// profiled runs fn under V8's sampling profiler of tab's page (its main thread only: a
// worker is another isolate), sampling every intervalUs microseconds.
func profiled(tab context.Context, intervalUs int64, fn func() error) (*profiler.Profile, error) {
	if _, err := chromedp.Call(tab, profiler.Enable, cdp.Empty{}); err != nil {
		return nil, err
	}
	defer chromedp.Call(tab, profiler.Disable, cdp.Empty{})
	if _, err := chromedp.Call(tab, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: intervalUs}); err != nil {
		return nil, err
	}
	if _, err := chromedp.Call(tab, profiler.Start, cdp.Empty{}); err != nil {
		return nil, err
	}
	if err := fn(); err != nil {
		_, _ = chromedp.Call(tab, profiler.Stop, cdp.Empty{})
		return nil, err
	}
	res, err := chromedp.Call(tab, profiler.Stop, cdp.Empty{})
	if err != nil {
		return nil, err
	}
	return res.Profile, nil
}

// threadTime is a profile's time in milliseconds by what the thread did: idle (V8's
// "(idle)" samples: Blink marks the isolate idle while its event loop waits for work),
// the rest split into garbage collection, "(program)" (the browser's own code on the
// thread: task dispatch, fetch and postMessage plumbing) and scripts (JS and wasm).
type threadTime struct {
	Idle, GC, Program, Script float64
}

func (t threadTime) busy() float64 { return t.GC + t.Program + t.Script }

// split sums each sample's interval (the time since the sample before, as DevTools
// counts self time) into threadTime.
func split(prof *profiler.Profile) threadTime {
	kind := map[int64]string{}
	for _, n := range prof.Nodes {
		kind[n.ID] = n.CallFrame.FunctionName
	}
	var t threadTime
	for i, id := range prof.Samples {
		if i >= len(prof.TimeDeltas) {
			break
		}
		ms := float64(prof.TimeDeltas[i]) / 1000
		switch kind[id] {
		case "(idle)":
			t.Idle += ms
		case "(garbage collector)":
			t.GC += ms
		case "(program)":
			t.Program += ms
		default:
			t.Script += ms
		}
	}
	return t
}
