// The demo's Uppy page: Uppy's one-file bundle (which `make demo` fetches and the demo
// server serves at /vendor/uppy/) with tuswasm's uploader plugin in place of @uppy/tus.
import { Dashboard, Uppy } from '/vendor/uppy/uppy.min.mjs'
import TusWasm from '/js/uppy.js'

const status = document.getElementById('status')
const uppy = new Uppy()
  .use(Dashboard, { inline: true, target: '#uppy', proudlyDisplayPoweredByUppy: false, showProgressDetails: true, height: 420 })
  .use(TusWasm, { endpoint: '/files/', limit: 4 })
uppy.on('upload-success', (file, res) => { status.textContent = `${file.name}: stored at ${res.uploadURL}` })
uppy.on('upload-error', (file, err) => { status.textContent = `${file.name}: ${err.code ?? 'error'}: ${err.message}` })
status.textContent = 'Add files, then upload.'
window.uppy = uppy
window.tuswasmDemoReady = true
