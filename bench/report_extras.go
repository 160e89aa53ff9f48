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
	if st := res.Stream; st != nil && st.Error != "" {
		log.Printf("1 GiB stream: FAILED in run %d: %s", st.FailedRun, st.Error)
	} else if st != nil {
		log.Printf("1 GiB stream: peak memory %.1f MiB (goal ≤ 64), %.0f MiB/s", res.StreamPeakMem1G, res.StreamMiBs)
	}
}
