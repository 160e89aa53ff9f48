// The module's side of the channel (see channel.js): it runs the Go program and serves
// the page's messages, in a dedicated worker (worker.js) or, in main-thread mode, on
// the page itself through an in-page port, the same code either way. What cannot
// cross to a worker (the caller's functions, AbortSignals, storage) stays on the page
// and is reached by messages.
import { fallbacks, start } from './core.js'

/**
 * Serves port: a Worker's global scope, or the module end of an in-page port
 * ({inPage: true}: no Web Lock to hold, objects pass as they are). Returns the
 * module's live stats, which the page reads directly in main-thread mode.
 */
export function serve (port, { inPage = false } = {}) {
  let api = null
  let memory = null
  const signals = new Map() // call id → AbortController
  const busy = new Set() // the calls in flight's fallbacks.busy() ends (Node's)
  const handles = new Map() // call id of newUpload → the Go upload handle
  const streams = new Map() // stream id → ReadableStream (a worker's, transferred once, kept until read to its end)
  const waiting = new Map() // request id → {resolve, reject}
  let nextRequest = 0

  const post = (m) => port.postMessage(m)

  // ask posts a request the page answers with a 'reply'.
  const ask = (msg) => new Promise((resolve, reject) => {
    const rid = ++nextRequest
    waiting.set(rid, { resolve, reject })
    post({ ...msg, rid })
  })

  const stats = () => ({ wasmMemoryBytes: memory?.buffer.byteLength ?? 0, goroutines: api?.stats().goroutines ?? 0 })

  // finish posts a call's outcome; a value that cannot be cloned (a hook threw a
  // function, say) is sent as text.
  const finish = (id, ok, value) => {
    try {
      post({ type: 'done', id, ok, value, stats: stats() })
    } catch {
      post({ type: 'done', id, ok, value: { ...value, cause: String(value?.cause) }, stats: stats() })
    }
  }

  // revive puts functions and the signal back where the page left markers (top level,
  // and one level down: a storage object's methods).
  const revive = (id, value, key, depth = 0) => {
    if (value?.__tuswasm === 'fn') return proxy(id, key, value.k)
    if (value?.__tuswasm === 'signal') return signals.get(id).signal
    if (depth > 1 || value === null || typeof value !== 'object' || Array.isArray(value)) return value
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(id, v, depth === 0 ? k : key, depth + 1)]))
  }

  // Event callbacks are fire-and-forget; every other function is awaited (hooks).
  const events = new Set(['onProgress', 'onCreate', 'onUploadUrlAvailable'])
  const proxy = (id, key, k) => {
    if (events.has(key)) return (...args) => { post({ type: 'fn', id, k, args }) }
    // onBeforeRequest changes req.headers in place: the page sends back the result.
    if (key === 'onBeforeRequest') return async (req) => { req.headers = await ask({ type: 'fn', id, k, args: [req], headers: true }) }
    return (...args) => ask({ type: 'fn', id, k, args })
  }

  const storage = (kind) => Object.fromEntries(['get', 'set', 'remove', 'list']
    .map((method) => [method, (...args) => ask({ type: 'storage', kind, method, args })]))

  async function init (m) {
    try {
      post({ type: 'alive', life: !inPage && await holdLife(m.life) })
      let exited
      ({ api, memory, exited } = await start(m.wasmURL, { makeError: (o) => o, storage }))
      exited.then((message) => {
        // The dead program's calls never end: what they kept busy is let go.
        for (const idle of busy) idle()
        busy.clear()
        post({ type: 'exit', message })
      })
      post({ type: 'ready' })
    } catch (err) {
      post({ type: 'ready', error: String(err?.message ?? err) })
    }
  }

  // source is a call's first argument: a worker's stream goes by id after its
  // transfer, and one read to its end is let go.
  function source (m) {
    if (m.stream === undefined) return m.args[0]
    if (m.args[0]) streams.set(m.stream, m.args[0])
    return streams.get(m.stream) ?? null
  }

  async function call (m) {
    signals.set(m.id, new AbortController())
    const args = m.args.map((a, i) => i === m.optionsAt ? revive(m.id, a) : a)
    if (m.stream !== undefined && !(args[0] = source(m))) {
      signals.delete(m.id)
      return finish(m.id, false, { code: 'FILE_CHANGED', message: 'tus: file changed: this ReadableStream went to the worker before and is gone (read to its end by an earlier upload, or lost with a worker that stopped)' })
    }
    let kept = false
    const idle = fallbacks.busy?.()
    if (idle) busy.add(idle)
    try {
      const value = await run(m, args)
      kept = m.name === 'newUpload'
      finish(m.id, true, value)
    } catch (err) {
      finish(m.id, false, err)
    } finally {
      idle?.()
      busy.delete(idle)
      if (!kept) signals.delete(m.id)
    }
  }

  // run is one call: a Go function, or an operation of an upload handle.
  async function run (m, args) {
    if (m.name === 'handle') return operate(...args)
    if (m.name === 'once') return finished(m.stream, args[2], await api.once(...args))
    if (m.name !== 'newUpload') return api[m.name](...args)
    const h = api.newUpload(...args)
    if (h.error) throw h.error
    handles.set(m.id, { h, stream: m.stream })
    return m.id
  }

  async function operate (hid, op) {
    const { h, stream } = handles.get(hid) ?? {}
    if (!h) throw { code: 'INTERNAL', message: 'tuswasm: the upload was disposed of' }
    if (op === 'dispose') {
      handles.delete(hid)
      signals.delete(hid)
    }
    return finished(stream, op, await h[op]())
  }

  // finished passes on what op returned. A stream read to its end by a run is of no
  // use to a later call: its buffers go.
  function finished (stream, op, value) {
    if (op === 'run' && stream !== undefined) streams.delete(stream)
    return value
  }

  port.onmessage = ({ data: m }) => {
    switch (m.type) {
      case 'init':
        return init(m)
      case 'call':
        return call(m)
      case 'abort':
        return signals.get(m.id)?.abort()
      case 'reply': {
        const w = waiting.get(m.rid)
        waiting.delete(m.rid)
        if (m.ok) w?.resolve(m.value)
        else w?.reject(m.value)
      }
    }
  }
  return stats
}

// holdLife takes the Web Lock named life and keeps it until this worker ends: the
// page waits on the same lock to learn that the worker is gone (see channel.js).
function holdLife (life) {
  if (!globalThis.navigator?.locks || !life) return false
  return new Promise((resolve) => {
    navigator.locks.request(life, () => {
      resolve(true)
      return new Promise(() => {})
    }).catch(() => resolve(false))
  })
}
