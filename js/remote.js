// The page side of worker mode (init({worker: true})): calls go to worker.js as
// messages; the caller's functions, AbortSignals and storage stay here and answer the
// worker's messages. Blobs and Files are copied to the worker (cheap: a Blob is a
// handle); a ReadableStream is transferred on its first use and named by an id after.
import { calls } from './core.js'
import { storageFor } from './storage.js'

// startTimeout bounds how long the worker may take to say it is alive (its scripts
// loaded); loading the module after that has no bound of its own, as on the page.
const startTimeout = 30000

/**
 * Starts the worker with the wasm at wasmURL.
 * @returns {Promise<{call: (name: string, args: any[]) => Promise<any>, stats: () => object, died: Promise<void>}>}
 */
export function startWorker (wasmURL) {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'tuswasm' })
  const active = new Map() // call id → {resolve, reject, fns, cleanup}
  const inFlight = calls() // rejects every call if the worker dies
  let failStart // rejects ready, while the worker is starting
  const die = (why) => {
    worker.terminate()
    for (const c of active.values()) c.cleanup()
    active.clear()
    inFlight.fail(why)
    failStart(new Error(why))
  }
  // The worker holds a Web Lock named life for as long as it lives, from before it
  // loads the module; the page's request for the same lock is granted when it dies,
  // whatever killed it (terminate(), a crash, memory), which no event reports. A worker
  // that does not say it is alive within startTimeout is taken for dead.
  const life = `tuswasm-worker-${Date.now()}-${Math.random().toString(36).slice(2)}`
  const starting = setTimeout(() => die(`the worker did not start within ${startTimeout / 1000} s`), startTimeout)
  const streamIds = new WeakMap()
  let nextCall = 0
  let nextStream = 0
  let lastStats = { wasmMemoryBytes: 0, goroutines: 0 }

  const reply = (rid, ok, value) => {
    try {
      worker.postMessage({ type: 'reply', rid, ok, value })
    } catch {
      worker.postMessage({ type: 'reply', rid, ok: false, value: new Error(String(value)) })
    }
  }

  const ready = new Promise((resolve, reject) => {
    failStart = reject
    worker.onerror = (e) => {
      e.preventDefault?.()
      reject(new Error(`the worker failed: ${e.message ?? 'it could not be loaded'}`))
    }
    worker.onmessage = ({ data: m }) => {
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
        case 'done': {
          lastStats = m.stats
          const c = active.get(m.id)
          active.delete(m.id)
          c?.cleanup()
          if (m.ok) c?.resolve(m.value)
          else c?.reject(m.value)
          break
        }
        case 'fn': {
          const fn = active.get(m.id)?.fns[m.k]
          if (!fn) return m.rid && reply(m.rid, false, new Error('the call has ended'))
          const run = (async () => {
            const value = await fn(...m.args)
            return m.headers ? m.args[0].headers : value
          })()
          if (m.rid) run.then((v) => reply(m.rid, true, v), (e) => reply(m.rid, false, e))
          else run.catch((e) => console.error('tuswasm: a callback threw:', e))
          break
        }
        case 'storage': {
          const s = storageFor(m.kind)
          Promise.resolve()
            .then(() => s ? s[m.method](...m.args) : (m.method === 'list' ? [] : null))
            .then((v) => reply(m.rid, true, v), (e) => reply(m.rid, false, e))
        }
      }
    }
  })
  worker.postMessage({ type: 'init', wasmURL: String(wasmURL), life })

  // mark replaces functions with markers (top level and one level down) and the
  // AbortSignal with one, keeping the functions for the worker's 'fn' messages.
  function mark (options, fns, depth = 0) {
    if (options === null || typeof options !== 'object' || Array.isArray(options) || depth > 1) return options
    if (depth === 0 && options.signal instanceof AbortSignal) options = { ...options, signal: { __tuswasm: 'signal' } }
    return Object.fromEntries(Object.entries(options).map(([k, v]) => {
      if (typeof v === 'function') return [k, { __tuswasm: 'fn', k: fns.push(v) - 1 }]
      return [k, mark(v, fns, depth + 1)]
    }))
  }

  function call (name, args) {
    return inFlight.track(() => post(name, args))
  }

  function post (name, args) {
    const id = ++nextCall
    const optionsAt = name === 'listUploads' ? 0 : 1
    const options = args[optionsAt]
    const fns = []
    const msg = { type: 'call', id, name, optionsAt, args: args.map((a, i) => i === optionsAt ? mark(a, fns) : a) }
    const transfer = []
    if (args[0] instanceof ReadableStream || streamIds.has(args[0])) {
      let sid = streamIds.get(args[0])
      if (sid === undefined) {
        streamIds.set(args[0], (sid = ++nextStream))
        transfer.push(args[0])
      } else {
        msg.args[0] = null // the worker has it
      }
      msg.stream = sid
    }
    return new Promise((resolve, reject) => {
      const signal = options?.signal instanceof AbortSignal ? options.signal : null
      if (signal?.aborted) return reject({ code: 'ABORTED', message: 'The upload was aborted' }) // its abort event has fired
      const onAbort = () => worker.postMessage({ type: 'abort', id })
      signal?.addEventListener('abort', onAbort)
      active.set(id, { resolve, reject, fns, cleanup: () => signal?.removeEventListener('abort', onAbort) })
      try {
        worker.postMessage(msg, transfer)
      } catch (err) {
        active.delete(id)
        signal?.removeEventListener('abort', onAbort)
        reject({ code: 'INVALID_OPTION', message: `tuswasm: in worker mode every argument must be cloneable: ${err.message}` })
      }
    })
  }

  return ready.then(() => ({ call, stats: () => lastStats, died: inFlight.died }), (err) => {
    clearTimeout(starting)
    worker.terminate()
    throw err
  })
}
