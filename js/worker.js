// The dedicated module worker that init({worker: true}) starts: it runs the Go program
// and serves the page's calls. What cannot cross (the caller's functions, AbortSignals,
// storage) stays on the page and is reached by messages (see remote.js).
import { start } from './core.js'

let api = null
let memory = null
const signals = new Map() // call id → AbortController
const streams = new Map() // stream id → ReadableStream (transferred once, kept for resumes until read to its end)
const waiting = new Map() // request id → {resolve, reject}
let nextRequest = 0

// ask posts a request the page answers with a 'reply'.
function ask (msg) {
  const rid = ++nextRequest
  return new Promise((resolve, reject) => {
    waiting.set(rid, { resolve, reject })
    postMessage({ ...msg, rid })
  })
}

// Event callbacks are fire-and-forget; every other function is awaited (hooks, storage).
const events = new Set(['onProgress', 'onCreate', 'onUploadUrlAvailable'])

function proxy (id, key, k) {
  if (events.has(key)) return (...args) => { postMessage({ type: 'fn', id, k, args }) }
  // onBeforeRequest changes req.headers in place: the page sends back the result.
  if (key === 'onBeforeRequest') return async (req) => { req.headers = await ask({ type: 'fn', id, k, args: [req], headers: true }) }
  return (...args) => ask({ type: 'fn', id, k, args })
}

// revive puts functions and the signal back where the page left markers (top level,
// and one level down: a storage object's methods).
function revive (id, value, key, depth = 0) {
  if (value?.__tuswasm === 'fn') return proxy(id, key, value.k)
  if (value?.__tuswasm === 'signal') return signals.get(id).signal
  if (depth > 1 || value === null || typeof value !== 'object' || Array.isArray(value)) return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(id, v, depth === 0 ? k : key, depth + 1)]))
}

const relayStorage = (kind) => Object.fromEntries(['get', 'set', 'remove', 'list']
  .map((method) => [method, (...args) => ask({ type: 'storage', kind, method, args })]))

// holdLife takes the Web Lock named life and keeps it until this worker ends: the
// page waits on the same lock to learn that the worker is gone (see remote.js).
function holdLife (life) {
  if (!globalThis.navigator?.locks || !life) return false
  return new Promise((resolve) => {
    navigator.locks.request(life, () => {
      resolve(true)
      return new Promise(() => {})
    }).catch(() => resolve(false))
  })
}

const stats = () => ({ wasmMemoryBytes: memory?.buffer.byteLength ?? 0, goroutines: api?.stats().goroutines ?? 0 })

// finish posts a call's outcome; a value that cannot be cloned (a hook threw a
// function, say) is sent as text.
function finish (id, ok, value) {
  try {
    postMessage({ type: 'done', id, ok, value, stats: stats() })
  } catch {
    postMessage({ type: 'done', id, ok, value: { ...value, cause: String(value?.cause) }, stats: stats() })
  }
}

self.onmessage = async ({ data: m }) => {
  switch (m.type) {
    case 'init':
      try {
        postMessage({ type: 'alive', life: await holdLife(m.life) })
        let exited
        ({ api, memory, exited } = await start(m.wasmURL, { makeError: (o) => o, storage: relayStorage }))
        exited.then((message) => postMessage({ type: 'exit', message }))
        postMessage({ type: 'ready' })
      } catch (err) {
        postMessage({ type: 'ready', error: String(err?.message ?? err) })
      }
      break
    case 'call': {
      signals.set(m.id, new AbortController())
      const args = m.args.map((a, i) => i === m.optionsAt ? revive(m.id, a) : a)
      if (m.stream !== undefined) {
        if (m.args[0]) streams.set(m.stream, m.args[0])
        args[0] = streams.get(m.stream)
        if (!args[0]) {
          signals.delete(m.id)
          finish(m.id, false, { code: 'FILE_CHANGED', message: 'tus: file changed: this ReadableStream was read to its end by an earlier upload' })
          break
        }
      }
      try {
        finish(m.id, true, await api[m.name](...args))
        // A stream read to its end is of no use to a later call: let its buffers go.
        if (m.stream !== undefined) streams.delete(m.stream)
      } catch (err) {
        finish(m.id, false, err)
      } finally {
        signals.delete(m.id)
      }
      break
    }
    case 'abort':
      signals.get(m.id)?.abort()
      break
    case 'reply': {
      const w = waiting.get(m.rid)
      waiting.delete(m.rid)
      if (m.ok) w?.resolve(m.value)
      else w?.reject(m.value)
    }
  }
}
