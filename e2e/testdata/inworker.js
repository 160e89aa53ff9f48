// A module worker (dedicated or shared) that imports tuswasm itself: no window, no
// localStorage; storage defaults to IndexedDB. It answers {op, ...} messages.
import * as tus from '/js/index.js'

const ready = tus.init()
let controller = null

async function handle (m) {
  await ready
  switch (m.op) {
    case 'env':
      return { window: typeof window, localStorage: typeof localStorage, indexedDB: typeof indexedDB }
    case 'upload':
      controller = new AbortController()
      return tus.createAndUpload(m.file, { ...m.options, signal: controller.signal })
    case 'pause':
      controller?.abort()
      return null
    case 'list':
      return tus.listUploads()
  }
}

function serve (port) {
  port.onmessage = ({ data: m }) => handle(m).then(
    (value) => port.postMessage({ id: m.id, ok: true, value }),
    (e) => port.postMessage({ id: m.id, ok: false, name: e?.name, code: e?.code, message: String(e?.message ?? e) }),
  )
}

if (typeof SharedWorkerGlobalScope !== 'undefined' && self instanceof SharedWorkerGlobalScope) {
  self.onconnect = (e) => serve(e.ports[0])
} else {
  serve(self)
}
