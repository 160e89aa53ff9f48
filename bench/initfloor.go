package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// buildFloor builds bench/floor as `make build` builds tuswasm (same flags) into dir,
// for the page's floorMs().
func buildFloor(dir string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-gcflags=all=-l", "-tags", "nethttpomithttp2",
		"-o", filepath.Join(dir, "floor.wasm"), "github.com/tuswasm/tuswasm/bench/floor")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the Go floor module: %w: %s", err, b)
	}
	return nil
}

// initSplit is one page load's start-up figures, in ms: tuswasm's init() and its
// module's compilation alone, and the floor module's compilation and start (to its
// first call into JavaScript), all with the bytes in the HTTP cache.
type initSplit struct {
	Init         float64 `json:"init"`
	Compile      float64 `json:"compile"`
	FloorCompile float64 `json:"floor_compile"`
	FloorRun     float64 `json:"floor_run"`
}
