package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
)

// The fingerprint run: what tuswasm's content-sampled fingerprint costs before an
// upload can be resumed (it reads the first and last 64 KiB and six 16 KiB ranges of the
// file and hashes them with SubtleCrypto). findPreviousUploads with memory storage is
// that fingerprint and an empty lookup, timed in the page.
var fingerprintSizes = []int{1, 1024, 4096} // MiB

// fingerprintCalls is how many times each file is fingerprinted (after one warm-up).
const fingerprintCalls = 15

// fingerprintRow is one file size of results.json's fingerprint.
type fingerprintRow struct {
	SizeMiB  int       `json:"size_mib"`
	Ms       []float64 `json:"ms_runs"`
	MedianMs float64   `json:"median_ms"`
	// FloorMs is a call to the module that reads no file (listUploads): what of MedianMs
	// is the call, not the fingerprint (median).
	FloorMs float64 `json:"call_floor_ms"`
}

// fingerprint times the fingerprint of files of each size. The 1 GiB and 4 GiB files are
// sparse past their first MiB: the sampled ranges are read all the same, from the page
// cache like the small file's, which is the case of a file just picked.
func (r *runner) fingerprint() ([]fingerprintRow, error) {
	var rows []fingerprintRow
	for _, size := range fingerprintSizes {
		path, err := writeSparse(r.inputs, size)
		if err != nil {
			return nil, err
		}
		err = func() error {
			defer os.Remove(path)
			if err := reload(r.tab); err != nil {
				return err
			}
			if err := pick(r.tab, path, size); err != nil {
				return err
			}
			out, err := eval[struct{ FP, Floor []float64 }](r.tab, fmt.Sprintf(`fingerprintMs(%d)`, fingerprintCalls))
			if err != nil {
				return fmt.Errorf("fingerprint of %d MiB: %w", size, err)
			}
			ms := out.FP[1:] // the warm-up
			for i := range ms {
				ms[i] = round(ms[i], 2)
			}
			rows = append(rows, fingerprintRow{SizeMiB: size, Ms: ms, MedianMs: round(median(ms), 2), FloorMs: round(median(out.Floor[1:]), 2)})
			return nil
		}()
		if err != nil {
			return nil, err
		}
	}
	for _, rw := range rows {
		log.Printf("fingerprint of %s: %.2f ms (median of %d; runs %v); a call without a file %.2f ms", sizeName(rw.SizeMiB), rw.MedianMs, len(rw.Ms), rw.Ms, rw.FloorMs)
	}
	return rows, nil
}

// writeSparse writes a file of size MiB whose first MiB is random (all of it for 1 MiB)
// and the rest a hole.
func writeSparse(dir string, size int) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("fp-%dMiB.bin", size))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(randomBlock(mib)); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Truncate(int64(size) * mib); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}
