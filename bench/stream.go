package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// streamSize is the stream run's length in MiB: the picked file's blob.stream(),
// uploaded without uploadSize.
const streamSize = 1024

// streamResult is results.json's stream_1g.
type streamResult struct {
	SizeMiB     int       `json:"size_mib"`
	MiBps       []float64 `json:"mib_per_s_runs"`
	MedianMiBs  float64   `json:"median_mib_per_s"`
	PeakMemRuns []float64 `json:"peak_mem_mib_runs"` // wasm + JS heap used, as the rows
	PeakMemMiB  float64   `json:"peak_mem_mib"`
	PeakWasm    float64   `json:"peak_wasm_mib"`
	PeakHeap    float64   `json:"peak_js_heap_mib"`
	// ArrayBuffers' backing stores (CDP Runtime.getHeapUsage, every 50 ms): where the
	// stream's chunks live, released or not yet collected. Chromium's JS heap used
	// includes them, so this says how much of the peak they are. Largest over the runs.
	PeakBuffers float64 `json:"peak_array_buffers_mib"`
	Requests    int     `json:"requests"`
	StoredBytes int64   `json:"stored_bytes"` // tusd's, of the last successful run
	// A run that failed ends the stream runs: what the page saw, after how many bytes
	// onProgress had confirmed, and what tusd held.
	Error       string `json:"error,omitempty"`
	FailedRun   int    `json:"failed_run,omitempty"` // from 1
	ErrorSent   int64  `json:"error_confirmed_bytes,omitempty"`
	ErrorStored int64  `json:"error_server_bytes,omitempty"`
}

// streamOut is what the page's runCaught() returns.
type streamOut struct {
	runResult
	Error string  `json:"error"`
	Sent  float64 `json:"sent"`
}

var streamContender = contender{Label: "tuswasm (stream, unknown length)", Name: "tuswasm-stream"}

// stream uploads a 1 GiB file's stream runs times and checks each on the server. A
// failure is a finding, not the bench's end: it is recorded and the runs stop.
func (r *runner) stream(runs int) (*streamResult, error) {
	path, err := writeInput(r.inputs, streamSize)
	if err != nil {
		return nil, err
	}
	defer os.Remove(path)
	res := &streamResult{SizeMiB: streamSize}
	want := int64(streamSize) * mib
	for k := range runs {
		if err := reload(r.tab); err != nil {
			return nil, err
		}
		if err := pick(r.tab, path, streamSize); err != nil {
			return nil, err
		}
		removeContents(r.uploads) // the check reads what tusd holds: only this run's
		r.tl.take()
		stop := sampleBuffers(r.tab)
		out, err := eval[streamOut](r.tab, fmt.Sprintf(`runCaught(%q)`, streamContender.Name))
		buffers := stop()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", streamContender.Label, err)
		}
		res.PeakBuffers = max(res.PeakBuffers, round(buffers/mib, 1))
		res.Requests = len(r.tl.take())
		got, err := storedUploads(r.uploads)
		if err != nil {
			return nil, err
		}
		removeContents(r.uploads)
		if out.Error == "" && (len(got) != 1 || !got[0].complete(want)) {
			out.Error = fmt.Sprintf("the page saw success but tusd holds %+v, want one upload of %d bytes", got, want)
		}
		if out.Error != "" {
			res.Error, res.FailedRun, res.ErrorSent = out.Error, k+1, int64(out.Sent)
			for _, s := range got {
				res.ErrorStored = max(res.ErrorStored, s.Bytes)
			}
			log.Printf("%s FAILED in run %d: %s (onProgress had confirmed %d bytes, tusd holds %d)", streamContender.Label, k+1, res.Error, res.ErrorSent, res.ErrorStored)
			break
		}
		res.StoredBytes = got[0].Bytes
		res.MiBps = append(res.MiBps, round(streamSize/out.Seconds, 1))
		res.PeakMemRuns = append(res.PeakMemRuns, round((out.PeakHeap+out.PeakWasm)/mib, 1))
		res.PeakWasm = max(res.PeakWasm, round(out.PeakWasm/mib, 1))
		res.PeakHeap = max(res.PeakHeap, round(out.PeakHeap/mib, 1))
	}
	res.MedianMiBs = round(median(res.MiBps), 1)
	res.PeakMemMiB = round(median(res.PeakMemRuns), 1)
	log.Printf("%4d MiB  %-36s %7.1f MiB/s  (runs %v)  peak %.1f MiB (wasm %.1f, JS heap %.1f; ArrayBuffers %.1f)  %d requests, tusd stored %d bytes",
		streamSize, streamContender.Label, res.MedianMiBs, res.MiBps, res.PeakMemMiB, res.PeakWasm, res.PeakHeap, res.PeakBuffers, res.Requests, res.StoredBytes)
	return res, nil
}

// sampleBuffers polls the tab's ArrayBuffer backing store until the returned stop,
// which returns the largest reading in bytes.
func sampleBuffers(tab context.Context) (stop func() float64) {
	var (
		peak float64
		wg   sync.WaitGroup
	)
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if u, err := chromedp.Call(tab, cdpruntime.GetHeapUsage, cdp.Empty{}); err == nil {
				peak = max(peak, u.BackingStorageSize)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		wg.Wait()
		return peak
	}
}
