// The contenders the bench driver (bench/main.go) runs through chromedp.
import * as tuswasm from '/js/index.js'

const MiB = 1 << 20

// init() time of this page load: with the bytes in the HTTP cache on reloads.
window.initMs = (async () => {
  const t0 = performance.now()
  await tuswasm.init()
  return performance.now() - t0
})()

let blob = null

// pick takes the file the driver put in the input: a real file on disk.
window.pick = () => {
  blob = document.querySelector('#file').files[0]
  return blob.size
}

const contenders = {
  tuswasm: (o) => tuswasm.createAndUpload(blob, {
    endpoint: '/files/', storage: false, onProgress: o.onProgress,
    ...(o.chunkSize ? { chunkSize: o.chunkSize, adaptiveChunkSize: false } : {}),
  }),
  'tus-js-client': (o) => new Promise((resolve, reject) => {
    const up = new window.tus.Upload(blob, {
      endpoint: '/files/', chunkSize: o.chunkSize ?? Infinity, retryDelays: null,
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
}

// run uploads the current blob once with one contender, sampling memory meanwhile.
window.run = async (name, opts = {}) => {
  if (window.gc) window.gc()
  const wasm = () => tuswasm.stats().wasmMemoryBytes
  const heap = () => performance.memory?.usedJSHeapSize ?? 0
  let peakHeap = heap()
  let peakWasm = wasm()
  const timer = setInterval(() => {
    peakHeap = Math.max(peakHeap, heap())
    peakWasm = Math.max(peakWasm, wasm())
  }, 20)
  const stamps = []
  const t0 = performance.now()
  try {
    await contenders[name]({ ...opts, onProgress: () => stamps.push(performance.now()) })
  } finally {
    clearInterval(timer)
  }
  const seconds = (performance.now() - t0) / 1000
  peakHeap = Math.max(peakHeap, heap())
  let maxGap = 0
  let last = t0
  for (const s of stamps) { maxGap = Math.max(maxGap, s - last); last = s }
  return { seconds, peakHeap, peakWasm, maxGapS: maxGap / 1000, progressCalls: stamps.length }
}

window.benchReady = window.initMs.then(() => true)
