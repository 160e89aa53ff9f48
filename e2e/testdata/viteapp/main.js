// A minimal app that depends on the packed tuswasm package by name, as a bundler user's
// would. The e2e suite builds it with `vite build` and uploads through the result.
import * as tus from 'tuswasm'

window.tus = tus
window.pattern = (size, seed) => {
  const buf = new Uint8Array(size)
  let x = (seed >>> 0) || 1
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    buf[i] = x & 255; buf[i + 1] = (x >>> 8) & 255; buf[i + 2] = (x >>> 16) & 255; buf[i + 3] = x >>> 24
  }
  return buf
}
window.tusReady = tus.init({ worker: new URLSearchParams(location.search).has('worker') }).then(() => true)
