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
	if _, err := chromedp.Call(tab, profiler.Enable, cdp.Empty{}); err != nil {
		return err
	}
	if _, err := chromedp.Call(tab, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 100}); err != nil {
		return err
	}
	if _, err := chromedp.Call(tab, profiler.Start, cdp.Empty{}); err != nil {
		return err
	}
	out, err := runOnce(tab, c)
	if err != nil {
		return err
	}
	res, err := chromedp.Call(tab, profiler.Stop, cdp.Empty{})
	if err != nil {
		return err
	}
	_, _ = chromedp.Call(tab, profiler.Disable, cdp.Empty{})
	b, err := json.Marshal(res.Profile)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	self := map[string]float64{} // ms by function
	names := map[int64]string{}
	for _, n := range res.Profile.Nodes {
		names[n.ID] = n.CallFrame.FunctionName
		if names[n.ID] == "" {
			names[n.ID] = "(anonymous " + n.CallFrame.URL + ")"
		}
	}
	for i, id := range res.Profile.Samples {
		if i < len(res.Profile.TimeDeltas) {
			self[names[id]] += float64(res.Profile.TimeDeltas[i]) / 1000
		}
	}
	keys := slices.SortedFunc(maps.Keys(self), func(a, b string) int { return cmp.Compare(self[b], self[a]) })
	log.Printf("profile of %s (%.0f ms), written to %s; self time:", c.Label, out.Seconds*1000, path)
	for _, k := range keys[:min(len(keys), 30)] {
		log.Printf("  %8.1f ms  %s", self[k], k)
	}
	return nil
}
