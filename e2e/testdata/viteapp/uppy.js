// Uppy's Dashboard with tuswasm's uploader, as an Uppy user's app would have it; the e2e
// suite builds it with `vite build` and drives it. ?chunk=N sets chunkSize, ?worker
// runs the module in a worker, ?limit=N sets limit. window.TusWasm and window.tusOptions
// let a test install the uploader again.
import Uppy from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import { init } from 'tuswasm'
import TusWasm from 'tuswasm/uppy'
import '@uppy/core/css/style.min.css'
import '@uppy/dashboard/css/style.min.css'
import { pattern } from './pattern.js'

const params = new URLSearchParams(location.search)
const worker = params.has('worker')
window.logged = [] // Uppy's error log (an upload error is expected in some tests)
window.events = []
const uppy = new Uppy({ logger: { debug () {}, warn () {}, error: (...a) => window.logged.push(a.map(String).join(' ')) } })
  .use(Dashboard, { inline: true, target: '#uppy', proudlyDisplayPoweredByUppy: false })
  .use(TusWasm, window.tusOptions = { endpoint: '/files/', chunkSize: Number(params.get('chunk')) || undefined, retryDelays: [0, 100, 300], worker, ...(params.has('limit') && { limit: Number(params.get('limit')) }) })
uppy.on('upload-progress', (file, p) => window.events.push(['upload-progress', file.name, p.bytesUploaded, p.bytesTotal]))
uppy.on('upload-success', (file, res) => window.events.push(['upload-success', file.name, res.uploadURL]))
uppy.on('upload-error', (file, err, res) => window.events.push(['upload-error', file.name, err.code, res?.status ?? null]))
uppy.on('complete', (r) => window.events.push(['complete', r.successful.length, r.failed.length]))
window.uppy = uppy
window.pattern = pattern
window.TusWasm = TusWasm

// waitFor resolves with cond()'s first truthy value, polled, or rejects after ms.
window.waitFor = (cond, ms = 60000) => new Promise((resolve, reject) => {
  const t0 = Date.now()
  const tick = () => {
    let v
    try {
      v = cond()
    } catch (err) {
      return reject(err)
    }
    if (v) resolve(v)
    else if (Date.now() - t0 > ms) reject(new Error(`timed out after ${ms} ms: ${cond}`))
    else setTimeout(tick, 10)
  }
  tick()
})
window.tusReady = init({ worker }).then(() => true)
