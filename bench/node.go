package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The node extra (node_vs_tusjs_node): a 1 GiB file from disk uploaded in Node.js by
// tuswasm (its node entry, fs.openAsBlob) and by tus-js-client (its Node build, the
// fs.createReadStream it documents, which it re-reads per chunk from the path), to the
// same tusd as the browser contenders, both in chunks of equalChunk, each run a fresh
// `node` process, the contenders alternating between rounds. MiB/s is timed inside the
// process from the call to its success (start-up and init() outside it); peak memory
// is the process's peak RSS (VmHWM): Node, the compiled module and the upload's
// buffers, not comparable to the browser rows' JS-heap-plus-wasm figure.

// nodeSize is the file's size in MiB.
const nodeSize = 1024

var nodeContenders = []string{"tuswasm (Node)", "tus-js-client (Node)"}

// nodeResult is results.json's node_vs_tusjs_node.
type nodeResult struct {
	SizeMiB  int               `json:"size_mib"`
	ChunkMiB int               `json:"chunk_mib"`
	Node     string            `json:"node_version"`
	Rows     []nodeRow         `json:"rows"`
	Errors   map[string]string `json:"errors,omitempty"`
}

type nodeRow struct {
	Contender   string    `json:"contender"`
	MiBps       []float64 `json:"mib_per_s"`
	MedianMiBs  float64   `json:"median_mib_per_s"`
	PeakRSSRuns []float64 `json:"peak_rss_mib_runs"`
	PeakRSSMiB  float64   `json:"peak_rss_mib"`
}

// nodeHWM prints the process's peak RSS at its exit as {"hwm": bytes}: /proc's VmHWM,
// its own memory. getrusage's maxrss also counts the bench's own RSS at the exec (Go
// starts children with CLONE_VFORK): it read 169 MiB for both contenders.
const nodeHWM = `import { readFileSync as readHWM } from 'node:fs'
process.on('exit', () => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readHWM('/proc/self/status', 'utf8'))
  if (m) console.log(JSON.stringify({ hwm: Number(m[1]) * 1024 }))
})`

// nodeScripts are the two programs; each prints {"seconds": …} or {"error": …}, then
// {"hwm": …}.
var nodeScripts = map[string]string{
	"tuswasm (Node)": `import { openAsBlob } from 'node:fs'
` + nodeHWM + `
const tus = await import(process.env.TUSWASM_NODE)
await tus.init()
const file = await openAsBlob(process.env.FILE)
const t0 = performance.now()
try {
  await tus.createAndUpload(file, { endpoint: process.env.ENDPOINT, chunkSize: Number(process.env.CHUNK), adaptiveChunkSize: false, storage: false })
  console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000 }))
} catch (e) {
  console.log(JSON.stringify({ error: String(e?.code ?? '') + ' ' + String(e?.message ?? e) }))
}
`,
	"tus-js-client (Node)": `import { createReadStream, statSync } from 'node:fs'
` + nodeHWM + `
import { createRequire } from 'node:module'
const tus = createRequire(import.meta.url)(process.env.TUS_JS_CLIENT)
const t0 = performance.now()
await new Promise((resolve) => {
  const up = new tus.Upload(createReadStream(process.env.FILE), {
    endpoint: process.env.ENDPOINT, chunkSize: Number(process.env.CHUNK), uploadSize: statSync(process.env.FILE).size,
    storeFingerprintForResuming: false, retryDelays: [0, 1000, 3000],
    onSuccess: () => { console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000 })); resolve() },
    onError: (e) => { console.log(JSON.stringify({ error: String(e?.message ?? e) })); resolve() },
  })
  up.start()
})
`,
}

// node runs the node extra.
func (r *runner) node(runs int) (*nodeResult, error) {
	res := &nodeResult{SizeMiB: nodeSize, ChunkMiB: equalChunk / mib, Errors: map[string]string{}}
	if out, err := exec.Command("node", "--version").Output(); err != nil {
		return nil, fmt.Errorf("node extra: no node: %w", err)
	} else {
		res.Node = strings.TrimSpace(string(out))
	}
	jsNode, err := filepath.Abs(filepath.Join(*jsDir, "node.js"))
	if err != nil {
		return nil, err
	}
	tusJSMain, err := filepath.Abs(*tusJS)
	if err != nil {
		return nil, err
	}
	scripts := map[string]string{}
	for i, c := range nodeContenders {
		p := filepath.Join(r.inputs, fmt.Sprintf("node-%d.mjs", i))
		if err := os.WriteFile(p, []byte(nodeScripts[c]), 0o644); err != nil {
			return nil, err
		}
		scripts[c] = p
	}
	path, err := writeInput(r.inputs, nodeSize)
	if err != nil {
		return nil, err
	}
	defer os.Remove(path)
	env := append(os.Environ(), "FILE="+path, "ENDPOINT="+r.origin+"/files/", fmt.Sprintf("CHUNK=%d", equalChunk),
		"TUSWASM_NODE=file://"+filepath.ToSlash(jsNode), "TUS_JS_CLIENT="+tusJSMain)
	rows := make([]nodeRow, len(nodeContenders))
	for i, c := range nodeContenders {
		rows[i].Contender = c
	}
	for k := range runs {
		for j := range nodeContenders {
			i := (j + k) % len(nodeContenders)
			c := nodeContenders[i]
			secs, rss, err := r.nodeRun(scripts[c], env)
			if err != nil {
				res.Errors[c] = err.Error()
				log.Printf("node: %s run %d FAILED: %v", c, k+1, err)
				continue
			}
			rows[i].MiBps = append(rows[i].MiBps, round(nodeSize/secs, 1))
			rows[i].PeakRSSRuns = append(rows[i].PeakRSSRuns, round(rss, 1))
		}
	}
	for i := range rows {
		rows[i].MedianMiBs = round(median(rows[i].MiBps), 1)
		rows[i].PeakRSSMiB = round(median(rows[i].PeakRSSRuns), 1)
		log.Printf("node: %s, %s from disk: %.0f MiB/s (runs %v), peak RSS %.0f MiB (runs %v)",
			rows[i].Contender, sizeName(nodeSize), rows[i].MedianMiBs, rows[i].MiBps, rows[i].PeakRSSMiB, rows[i].PeakRSSRuns)
	}
	res.Rows = rows
	if len(res.Errors) == 0 {
		res.Errors = nil
	}
	return res, nil
}

// nodeRun runs one program and checks that tusd holds the whole file; it returns
// the upload's seconds and the process's peak RSS in MiB.
func (r *runner) nodeRun(script string, env []string) (float64, float64, error) {
	defer removeContents(r.uploads)
	cmd := exec.Command("node", script)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%w: %s", err, stderr.String())
	}
	var out struct {
		Seconds float64 `json:"seconds"`
		Error   string  `json:"error"`
		HWM     float64 `json:"hwm"`
	}
	for _, l := range bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n")) {
		if err := json.Unmarshal(l, &out); err != nil {
			return 0, 0, fmt.Errorf("output %q: %w", stdout.String(), err)
		}
	}
	if out.Error != "" || out.Seconds <= 0 || out.HWM <= 0 {
		return 0, 0, fmt.Errorf("output %q: %s", stdout.String(), out.Error)
	}
	ups, err := storedUploads(r.uploads)
	if err != nil {
		return 0, 0, err
	}
	if len(ups) != 1 || !ups[0].complete(nodeSize*mib) {
		return 0, 0, fmt.Errorf("tusd holds %+v, want one complete upload of %d bytes", ups, nodeSize*mib)
	}
	return out.Seconds, out.HWM / mib, nil
}
