// Helpers the e2e tests call through chromedp. Kept free of inline script so the
// page also runs under a strict Content-Security-Policy.
import * as tus from '/js/index.js'
// The deterministic content the Go side regenerates; the Vite app shares the module.
import { pattern } from '/viteapp/pattern.js'

window.tus = tus

window.pattern = pattern

window.makeFile = (size, seed, name = 'file.bin') =>
  new File([window.pattern(size, seed)], name, { type: 'application/octet-stream', lastModified: 1700000000000 + seed })

// run settles fn() into a plain object chromedp can return.
window.run = async (fn) => {
  try {
    return { ok: true, value: await fn() }
  } catch (e) {
    return { ok: false, name: e?.name, code: typeof e?.code === 'string' ? e.code : undefined, status: e?.status, message: String(e?.message ?? e), isTusError: e instanceof tus.TusError }
  }
}

// within(p, ms) settles p into run()'s shape, or {hang: true} when it has not settled
// after ms: every wait of a test has a deadline.
window.within = (p, ms) => Promise.race([window.run(() => p),
  new Promise((resolve) => setTimeout(() => resolve({ ok: false, hang: true, message: 'still pending after ' + ms + ' ms' }), ms))])

// quiet() swaps console.error for a log (a throwing event callback is reported there
// by design).
window.quiet = () => {
  window.logged = []
  console.error = (...a) => window.logged.push(a.map(String).join(' '))
}

// bg starts fn in the background; state[key] tells when it is done.
window.state = {}
window.bg = (key, fn) => {
  const s = (window.state[key] = { done: false, progress: [] })
  window.run(() => fn(s)).then((o) => { s.outcome = o; s.done = true })
}

// The module's Go programs and workers, kept so that tests can kill them (a dead worker
// or an exited Go program must fail the calls in flight, not strand them).
window.goes = []
window.workers = []
const run = globalThis.Go.prototype.run
globalThis.Go.prototype.run = function (instance) {
  window.goes.push(this)
  return run.call(this, instance)
}
window.Worker = class extends Worker {
  constructor (...args) {
    super(...args)
    window.workers.push(this)
  }
}
// kill ends the newest module: its worker, or its Go program (what a Go exit does:
// runtime.wasmExit, then run()'s Promise resolves).
window.kill = () => {
  if (window.tusWorker) return window.workers.at(-1).terminate()
  const go = window.goes.at(-1)
  go.importObject.gojs['runtime.wasmExit'](0)
  go._resolveExitPromise()
}

// /test.html?worker runs tuswasm in worker mode (init({worker: true})); ?wasm=bytes or
// ?wasm=module gives init() the module in hand (its ArrayBuffer, or compiled) instead of
// its URL.
const params = new URLSearchParams(location.search)
window.tusWorker = params.has('worker')
const inHand = params.get('wasm')
const wasm = inHand ? fetch('/js/tuswasm.wasm').then((r) => r.arrayBuffer()).then((b) => inHand === 'module' ? WebAssembly.compile(b) : b) : null
window.tusReady = (wasm ? wasm.then((wasmURL) => tus.init({ worker: window.tusWorker, wasmURL })) : tus.init({ worker: window.tusWorker })).then(() => true)
