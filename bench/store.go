package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"
)

// stored is one upload in tusd's filestore, as the server holds it: the checks of the
// small-files and stream runs read these rather than trusting the page.
type stored struct {
	Size     int64 // declared length (meaningless while Deferred)
	Deferred bool  // Upload-Defer-Length and no length declared yet
	Bytes    int64 // bytes in the data file: the offset tusd reports
}

// complete is whether the server holds all of a declared length of want bytes.
func (s stored) complete(want int64) bool {
	return !s.Deferred && s.Size == want && s.Bytes == want
}

// storedUploads reads every upload's .info and the size of its data file in dir.
func storedUploads(dir string) ([]stored, error) {
	infos, err := filepath.Glob(filepath.Join(dir, "*.info"))
	if err != nil {
		return nil, err
	}
	var out []stored
	for _, p := range infos {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var info handler.FileInfo
		if err := json.Unmarshal(b, &info); err != nil {
			return nil, err
		}
		bin := info.Storage[filestore.StorageKeyPath]
		if bin == "" {
			bin = strings.TrimSuffix(p, ".info")
		}
		fi, err := os.Stat(bin)
		if err != nil {
			return nil, err
		}
		out = append(out, stored{Size: info.Size, Deferred: info.SizeIsDeferred, Bytes: fi.Size()})
	}
	return out, nil
}
