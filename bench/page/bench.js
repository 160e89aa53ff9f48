// The contenders the bench driver (bench/main.go) runs through chromedp.
import * as tuswasm from '/js/index.js'

const MiB = 1 << 20

// bench.html?worker loads tuswasm in worker mode (init({worker: true})): the driver
// navigates there for the worker runs; `mode` lets it check which one it got.
const worker = new URLSearchParams(location.search).has('worker')
window.mode = worker ? 'worker' : 'main'

// init() time of this page load: with the bytes in the HTTP cache on reloads.
window.initMs = (async () => {
  const t0 = performance.now()
  await tuswasm.init(worker ? { worker: true } : undefined)
  return performance.now() - t0
})()

// floorMs times the start of the smallest Go program (bench/floor, built with
// tuswasm's flags) and the compilation of both modules, the bytes cached: what of
// init() is Go's floor, and what is tuswasm's own (its package init, its first call).
window.floorMs = async () => {
  const compile = async (url) => {
    const t0 = performance.now()
    const module = await WebAssembly.compileStreaming(fetch(url))
    return [module, performance.now() - t0]
  }
  const [floor, floorCompile] = await compile('/floor/floor.wasm')
  const t0 = performance.now()
  const go = new globalThis.Go()
  const ready = new Promise((resolve) => { globalThis.__floorReady = resolve })
  go.run(await WebAssembly.instantiate(floor, go.importObject))
  await ready
  const floorRun = performance.now() - t0
  const [, compileMs] = await compile('/js/tuswasm.wasm')
  return { init: await window.initMs, compile: compileMs, floor_compile: floorCompile, floor_run: floorRun }
}

let blob = null

// pick takes the file the driver put in the input: a real file on disk.
window.pick = () => {
  blob = document.querySelector('#file').files[0]
  return blob.size
}

let files = []

// pickMany takes the many small files the driver put in the second input.
window.pickMany = () => {
  files = [...document.querySelector('#files').files]
  return files.length
}

const contenders = {
  // Each resolves to the upload's URL (the final upload's for parallel uploads), so the
  // driver can check what the server stored under it; tuswasm's result also says in how
  // many parts it went.
  tuswasm: (o) => tuswasm.createAndUpload(blob, {
    endpoint: '/files/', storage: false, onProgress: o.onProgress,
    ...(o.chunkSize ? { chunkSize: o.chunkSize, adaptiveChunkSize: false } : {}),
    ...(o.parallelUploads ? { parallelUploads: o.parallelUploads } : {}),
  }),
  'tus-js-client': (o) => new Promise((resolve, reject) => {
    const up = new window.tus.Upload(blob, {
      endpoint: '/files/', chunkSize: o.chunkSize ?? Infinity, retryDelays: null,
      ...(o.parallelUploads ? { parallelUploads: o.parallelUploads } : {}),
      storeFingerprintForResuming: false, onSuccess: () => resolve(up.url), onError: reject,
    })
    up.start()
  }),
  // The floor of any fetch-based tus client: a bare PATCH loop of Blob slices.
  'fetch-tus': async (o) => {
    const h = { 'Tus-Resumable': '1.0.0' }
    const c = await fetch('/files/', { method: 'POST', headers: { ...h, 'Upload-Length': String(blob.size) } })
    if (c.status !== 201) throw new Error(`POST answered ${c.status}`)
    const url = c.headers.get('Location')
    for (let off = 0; off < blob.size;) {
      const end = Math.min(off + o.chunkSize, blob.size)
      const r = await fetch(url, {
        method: 'PATCH',
        headers: { ...h, 'Upload-Offset': String(off), 'Content-Type': 'application/offset+octet-stream' },
        body: blob.slice(off, end),
      })
      if (r.status !== 204) throw new Error(`PATCH answered ${r.status}`)
      off = Number(r.headers.get('Upload-Offset'))
      o.onProgress(off)
    }
  },
  fetch: () => fetch('/discard', { method: 'POST', body: blob }).then((r) => {
    if (!r.ok) throw new Error(`discard answered ${r.status}`)
  }),
  // The picked file as a ReadableStream of unknown length (no uploadSize): created with
  // Upload-Defer-Length, each request's body a Blob of the stream's kept chunks.
  'tuswasm-stream': (o) => tuswasm.createAndUpload(blob.stream(), {
    endpoint: '/files/', storage: false, onProgress: o.onProgress,
  }),
  // No upload: the page waits o.ms, the floor of the main-thread measure (profiler,
  // driver and page with tuswasm loaded but nothing to do).
  idle: (o) => new Promise((resolve) => setTimeout(resolve, o.ms)),
}

// Uppy with an uploader plugin, both from Uppy's one-file build but tuswasm's: its own
// (tuswasm/uppy) or @uppy/tus (tus-js-client), with the same options (their defaults,
// the endpoint and limit). Loaded before the timed part (prepare).
let uppyModules = null
const loadUppy = () => (uppyModules ??= Promise.all([import('/vendor/uppy/uppy.min.mjs'), import('/js/uppy.js')]))
const uppyPlugins = { 'uppy-tuswasm': ([, mine]) => mine.default, 'uppy-tus': ([uppy]) => uppy.Tus }

// uppyUpload uploads list through a new Uppy with the named plugin and resolves to
// Uppy's result. Storage is cleared first: @uppy/tus keeps completed uploads there, and
// would find this file's last one.
async function uppyUpload (name, list, limit, options = {}) {
  localStorage.clear()
  const modules = await loadUppy()
  const uppy = new modules[0].Uppy({ logger: { debug () {}, warn () {}, error () {} } })
    .use(uppyPlugins[name](modules), { endpoint: '/files/', limit, ...options })
  uppy.addFiles(list.map((f) => ({ name: f.name, type: f.type, data: f })))
  try {
    return await uppy.upload()
  } finally {
    uppy.destroy()
  }
}

const uppyContender = (name) => async (o) => {
  const { onProgress, ...options } = o
  const result = await uppyUpload(name, [blob], 1, options)
  if (result.failed.length > 0) throw result.failed[0].error
  return result.successful[0].uploadURL
}
contenders['uppy-tuswasm'] = uppyContender('uppy-tuswasm')
contenders['uppy-tus'] = uppyContender('uppy-tus')

// What a contender loads before it is timed.
const prepare = { 'uppy-tuswasm': loadUppy, 'uppy-tus': loadUppy }

// Uploaders of the many-small-files run: one file, exactly the options the driver
// gives (besides the endpoint), resolving to the upload URL.
// Each request names its file in X-Bench-File, so that the driver can tell where a
// file's time went (see breakdown in smallfiles.go).
const fileUploaders = {
  tuswasm: (file, options) => tuswasm.createAndUpload(file, { endpoint: '/files/', ...options, headers: { 'X-Bench-File': file.name } }).then((r) => r.url),
  // No tus client: one POST that creates the upload with all its bytes (creation with
  // upload), which is the least any client must send for a small file; what the browser
  // and the server reach here, measured beside the clients.
  fetch: async (file) => {
    const r = await fetch('/files/', {
      method: 'POST',
      body: file,
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(file.size), 'Content-Type': 'application/offset+octet-stream', 'X-Bench-File': file.name },
    })
    if (r.status !== 201 || r.headers.get('Upload-Offset') !== String(file.size)) throw new Error(`POST: ${r.status}, Upload-Offset ${r.headers.get('Upload-Offset')}`)
    return new URL(r.headers.get('Location'), location.href).href
  },
  'tus-js-client': (file, options) => new Promise((resolve, reject) => {
    const up = new window.tus.Upload(file, {
      endpoint: '/files/', ...options, headers: { 'X-Bench-File': file.name }, onSuccess: () => resolve(up.url), onError: reject,
    })
    up.start()
  }),
}

// sample runs fn(onProgress), sampling memory meanwhile (unless quiet: the runs that
// measure the main thread's own time leave out the bench's polling and forced GC). A
// failure is rethrown with the bytes the last onProgress reported as e.sent.
async function sample (fn, quiet = false) {
  if (window.gc && !quiet) window.gc()
  const wasm = () => tuswasm.stats().wasmMemoryBytes
  const heap = () => performance.memory?.usedJSHeapSize ?? 0
  let peakHeap = heap()
  let peakWasm = wasm()
  const timer = quiet
    ? null
    : setInterval(() => {
      peakHeap = Math.max(peakHeap, heap())
      peakWasm = Math.max(peakWasm, wasm())
    }, 20)
  const stamps = []
  let sent = 0
  const t0 = performance.now()
  let got
  try {
    got = await fn((n) => { stamps.push(performance.now()); sent = n ?? sent })
  } catch (e) {
    if (e !== null && typeof e === 'object') e.sent = sent
    throw e
  } finally {
    clearInterval(timer)
  }
  const seconds = (performance.now() - t0) / 1000
  peakHeap = Math.max(peakHeap, heap())
  // Wasm memory only grows, so its size now is the peak. In worker mode stats() is the
  // worker's as of the last call that ended: only this reading sees the upload's.
  peakWasm = Math.max(peakWasm, wasm())
  let maxGap = 0
  let last = t0
  for (const s of stamps) { maxGap = Math.max(maxGap, s - last); last = s }
  // url and parts: what the contender resolved to (a URL, or tuswasm's result).
  const url = typeof got === 'string' ? got : got?.url ?? ''
  return { seconds, peakHeap, peakWasm, maxGapS: maxGap / 1000, progressCalls: stamps.length, sent, url, parts: got?.parts ?? 0 }
}

// run uploads the current blob once with one contender, sampling memory meanwhile
// unless quiet.
window.run = async (name, opts = {}, quiet = false) => {
  await prepare[name]?.()
  return sample((onProgress) => contenders[name]({ ...opts, onProgress }), quiet)
}

// runCaught is run that reports a failure instead of throwing it: what failed and
// after how many confirmed bytes (the stream run records a failure as a finding).
window.runCaught = (name, opts = {}) => window.run(name, opts).catch((e) => ({
  error: `${e?.name ?? 'Error'}${e?.code ? ` ${e.code}` : ''}${e?.status ? ` (HTTP ${e.status})` : ''}: ${e?.message ?? e}`,
  sent: e?.sent ?? 0,
}))

// runMany uploads every picked file with one uploader, `concurrency` at a time (a pool:
// each worker takes the next file when its last one is done), and returns the run's
// figures with the upload URLs of those that completed and the first failure.
window.runMany = async (name, options, concurrency) => {
  localStorage.clear() // tus-js-client's defaults remember every upload there
  if (prepare[name]) { // Uppy: its plugin bounds how many files go at once
    await prepare[name]()
    let result
    const out = await sample(async () => { result = await uppyUpload(name, files, concurrency, options) })
    return { ...out, completed: result.successful.length, error: result.failed[0] ? `${result.failed[0].name}: ${result.failed[0].error}` : '' }
  }
  const urls = []
  const times = [] // {file, call, settled}: ms since the epoch, as the server's clock
  const now = () => performance.timeOrigin + performance.now()
  let error = ''
  return sample(async () => {
    let next = 0
    const worker = async () => {
      while (next < files.length) {
        const f = files[next++]
        const t0 = now()
        try {
          urls.push(await fileUploaders[name](f, options))
          times.push({ file: f.name, call: t0, settled: now() })
        } catch (e) {
          error ||= `${f.name}: ${e?.message ?? e}`
        }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
  }).then((out) => ({ ...out, completed: urls.length, error, times }))
}

// fingerprintMs times n fingerprints of the picked file: findPreviousUploads with memory
// storage computes it (sampled ranges hashed with SubtleCrypto) and finds nothing. The
// floor is a call that does the rest without a file (listUploads, memory storage).
window.fingerprintMs = async (n) => {
  const time = async (fn) => {
    const out = []
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      await fn()
      out.push(performance.now() - t0)
    }
    return out
  }
  const fp = await time(() => tuswasm.findPreviousUploads(blob, { endpoint: '/files/', storage: 'memory' }))
  const floor = await time(() => tuswasm.listUploads({ storage: 'memory' }))
  return { fp, floor }
}

window.benchReady = window.initMs.then(() => true)
