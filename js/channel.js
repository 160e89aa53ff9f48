// The page's side of the one channel to the module (host.js), in both modes: a
// dedicated Worker (init({worker: true})), or an in-page port whose other end host.js
// serves on the page (the way esbuild's main-thread mode fakes a worker). Calls are
// messages; the caller's functions, AbortSignals and storage stay here and answer the
// module's messages. Blobs and Files cross to a worker as handles; a ReadableStream is
// transferred on its first use and named by an id after.
import { convert } from './errors.js'
import { serve } from './host.js'
import { storageFor } from './storage.js'

// startTimeout bounds how long a worker may take to say it is alive (its scripts
// loaded); loading the module after that has no bound of its own, as on the page.
const startTimeout = 30000

/**
 * Starts the module with the wasm at wasmURL (a URL, or the module's bytes or compiled
 * WebAssembly.Module, which a worker receives as a structured clone), in a worker or
 * on the page.
 * @returns {Promise<{call: Function, upload: Function, stats: Function, died: Promise<void>}>}
 */
export function connect (wasmURL, { worker = false } = {}) {
  const port = worker ? new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'tuswasm' }) : inPagePort()
  // A worker's stats come with each call's end; the page's are read when asked.
  let lastStats = { wasmMemoryBytes: 0, goroutines: 0 }
  const stats = port.stats ?? (() => lastStats)
  const active = new Map() // call id → {resolve, reject, fns, cleanup, keep}
  const inFlight = calls() // rejects every call if the module dies
  let failStart // rejects ready while the module is starting
  const die = (why) => {
    port.terminate()
    for (const c of active.values()) c.cleanup()
    active.clear()
    inFlight.fail(why)
    failStart(new Error(why))
  }
  // A worker holds a Web Lock named life for as long as it lives, from before it
  // loads the module; the page's request for the same lock is granted when it dies,
  // whatever killed it (terminate(), a crash, memory), which no event reports. A worker
  // that does not say it is alive within startTimeout is taken for dead.
  const life = `tuswasm-worker-${Date.now()}-${Math.random().toString(36).slice(2)}`
  const starting = setTimeout(() => die(`the worker did not start within ${startTimeout / 1000} s`), startTimeout)
  const streamIds = new WeakMap()
  let nextCall = 0
  let nextStream = 0

  const reply = (rid, ok, value) => {
    try {
      port.postMessage({ type: 'reply', rid, ok, value })
    } catch {
      port.postMessage({ type: 'reply', rid, ok: false, value: new Error(String(value)) })
    }
  }

  // onFn runs one of the caller's functions for the module: an event callback (no
  // answer), a hook (awaited, answered), onBeforeRequest (answered with req.headers).
  const onFn = (m) => {
    const fn = active.get(m.id)?.fns[m.k]
    if (!fn) return m.rid && reply(m.rid, false, new Error('the call has ended'))
    const run = (async () => {
      const value = await fn(...m.args)
      return m.headers ? m.args[0].headers : value
    })()
    if (m.rid) run.then((v) => reply(m.rid, true, v), (e) => reply(m.rid, false, e))
    else run.catch((e) => console.error('tuswasm: a callback threw:', e))
  }

  const onStorage = (m) => {
    const s = storageFor(m.kind)
    Promise.resolve()
      .then(() => s ? s[m.method](...m.args) : (m.method === 'list' ? [] : null))
      .then((v) => reply(m.rid, true, v), (e) => reply(m.rid, false, e))
  }

  const onDone = (m) => {
    lastStats = m.stats
    const c = active.get(m.id)
    if (!c?.keep || !m.ok) {
      active.delete(m.id)
      c?.cleanup()
    }
    if (m.ok) c?.resolve(m.value)
    else c?.reject(m.value)
  }

  const ready = new Promise((resolve, reject) => {
    failStart = reject
    port.onerror = (e) => {
      e.preventDefault?.()
      reject(new Error(`the worker failed: ${e.message ?? 'it could not be loaded'}`))
    }
    port.onmessage = ({ data: m }) => {
      switch (m.type) {
        case 'alive':
          clearTimeout(starting)
          if (m.life) navigator.locks.request(life, () => die('the worker stopped')).catch(() => {})
          break
        case 'ready':
          if (m.error) reject(new Error(m.error))
          else resolve()
          break
        case 'exit':
          die(m.message)
          break
        case 'done':
          onDone(m)
          break
        case 'fn':
          onFn(m)
          break
        case 'storage':
          onStorage(m)
      }
    }
  })
  port.postMessage({ type: 'init', wasmURL: typeof wasmURL === 'string' || wasmURL instanceof URL ? String(wasmURL) : wasmURL, life })

  // mark replaces functions with markers (top level and one level down) and the
  // AbortSignal with one, keeping the functions for the module's 'fn' messages.
  // onShouldRetry receives the module's plain error object: it gets a TusError. A
  // storage object's methods are taken bound to it: a class keeps them on its
  // prototype (no own keys) and reaches its state through this.
  function mark (options, fns, depth = 0) {
    if (options === null || typeof options !== 'object' || Array.isArray(options) || depth > 1) return options
    if (depth === 0 && options.signal instanceof AbortSignal) options = { ...options, signal: { __tuswasm: 'signal' } }
    return Object.fromEntries(Object.entries(options).map(([k, v]) => {
      if (k === 'onShouldRetry' && typeof v === 'function') v = wrapShouldRetry(v)
      if (depth === 0 && k === 'storage' && v !== null && typeof v === 'object') v = storageMethods(v)
      if (typeof v === 'function') return [k, { __tuswasm: 'fn', k: fns.push(v) - 1 }]
      return [k, mark(v, fns, depth + 1)]
    }))
  }

  // post sends one call; keep keeps its functions and signal after it is done (an
  // upload handle's, until it is disposed of).
  function post (name, args, keep = false) {
    const id = ++nextCall
    const optionsAt = name === 'listUploads' ? 0 : 1
    const options = args[optionsAt]
    const fns = []
    const msg = { type: 'call', id, name, optionsAt, args: args.map((a, i) => i === optionsAt ? mark(a, fns) : a) }
    const transfer = []
    let sent = null // a stream this call transfers: the worker has it only once the message is posted
    if (worker && (args[0] instanceof ReadableStream || streamIds.has(args[0]))) {
      let sid = streamIds.get(args[0])
      if (sid === undefined) {
        sid = ++nextStream
        sent = args[0]
        transfer.push(args[0])
      } else {
        msg.args[0] = null // the worker has it
      }
      msg.stream = sid
    }
    return new Promise((resolve, reject) => {
      const signal = options?.signal instanceof AbortSignal ? options.signal : null
      if (signal?.aborted) return reject({ code: 'ABORTED', message: 'The upload was aborted' }) // its abort event has fired
      const onAbort = () => port.postMessage({ type: 'abort', id })
      signal?.addEventListener('abort', onAbort)
      active.set(id, { resolve, reject, fns, keep, cleanup: () => signal?.removeEventListener('abort', onAbort) })
      try {
        port.postMessage(msg, transfer)
        if (sent) streamIds.set(sent, msg.stream)
      } catch (err) {
        active.delete(id)
        signal?.removeEventListener('abort', onAbort)
        reject({ code: 'INVALID_OPTION', message: `tuswasm: in worker mode every argument must be cloneable: ${err.message}` })
      }
    })
  }

  const call = (name, args) => inFlight.track(() => post(name, args))

  // upload makes an upload handle in the module: run, create, pause, terminate and
  // dispose are calls on it.
  async function upload (file, options) {
    const hid = await inFlight.track(() => post('newUpload', [file, options], true))
    const op = (name) => () => call('handle', [hid, name])
    return {
      run: op('run'),
      create: op('create'),
      pause: op('pause'),
      terminate: op('terminate'),
      dead: inFlight.dead,
      dispose: () => call('handle', [hid, 'dispose']).finally(() => {
        active.get(hid)?.cleanup()
        active.delete(hid)
      }),
    }
  }

  return ready.then(() => ({ call, upload, stats, died: inFlight.died }), (err) => {
    clearTimeout(starting)
    port.terminate()
    throw err
  })
}

// storageMethods is a storage object's four methods (options.js checked that it has
// them), each bound to it.
function storageMethods (s) {
  return Object.fromEntries(['get', 'set', 'remove', 'list'].map((m) => [m, s[m].bind(s)]))
}

function wrapShouldRetry (fn) {
  return (err, attempt) => fn(convert(err), attempt)
}

// inPagePort is a port pair within the page: host.js serves one end, the page talks
// to the other. Messages are delivered in order, a microtask later, and objects pass
// as they are (no copy, no transfer).
function inPagePort () {
  let open = true
  const page = { terminate: () => { open = false } }
  const module = {}
  page.postMessage = (data) => queueMicrotask(() => open && module.onmessage?.({ data }))
  module.postMessage = (data) => queueMicrotask(() => open && page.onmessage?.({ data }))
  page.stats = serve(module, { inPage: true })
  return page
}

/**
 * Tracks the calls in flight on a module that may die (the Go program exits, the
 * worker is terminated): fail(message) rejects every one of them with INTERNAL, every
 * later one at once, and resolves died.
 */
function calls () {
  const pending = new Set()
  let dead = null
  let died
  return {
    died: new Promise((resolve) => { died = resolve }),
    dead: () => dead !== null,
    track (run) {
      if (dead) return Promise.reject(dead)
      return new Promise((resolve, reject) => {
        pending.add(reject)
        run().then(resolve, reject).finally(() => pending.delete(reject))
      })
    },
    fail (message) {
      if (dead) return
      dead = { code: 'INTERNAL', message: `tuswasm: ${message}; the next call starts the module again` }
      for (const reject of pending) reject(dead)
      pending.clear()
      died()
    },
  }
}
