// tuswasm for Node.js: the package's "node" export condition (and 'tuswasm/node'). The
// API is index.js's; this entry gives Node what a browser has and Node lacks, through
// the fallbacks core.js and storage.js leave open, so that no node: import ever sits in
// the code a bundler takes for a page:
// - init() reads the module from disk (next to this file by default); wasmURL may also
//   be a file path, a file: URL, the bytes or a WebAssembly.Module;
// - useFileLock takes an in-process lock (Node has no navigator.locks);
// - storage 'default' is this process's memory (Node has no localStorage): resuming
//   across a restart takes fileStorage(path);
// - requests go through node:http(s) rather than fetch (undici), which sent a Blob
//   body at about two thirds of the speed with twice the memory;
// - init({worker: true}) is refused (INVALID_OPTION): Node has no Web Worker.
import { mkdir, open, readFile, realpath, rename, unlink } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import { dirname, resolve as resolvePath } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { fallbacks } from './core.js'
import { TusError } from './errors.js'
import { init as initModule } from './index.js'
import { memoryStore, runtimeDefault } from './storage.js'

export * from './index.js'

fallbacks.load = (url) => url.startsWith('file:') ? readFile(new URL(url)) : null
fallbacks.locks = processLocks()
runtimeDefault.store = memoryStore

// Go's js/wasm runtime arms a setTimeout for its next timer each time it goes idle and
// does not clear it when that timer is stopped (runtime/lock_js.go, beforeIdle): a
// request's deadline (30 s and more), stopped when the reply came, would keep Node
// running for the rest of it after the last call ended, say after an error or a
// pause. The module's timeouts are therefore unref'd, and a ref'd interval keeps the
// process alive instead while any call into the module is in flight.
fallbacks.prepare = (go) => {
  // A Go program that has exited (a panic, say) still has timeouts and callbacks
  // pending, and each would throw "Go program has already exited" from a timer: an
  // uncaught exception, which ends a Node process (a page only logs it). Its calls have
  // failed with INTERNAL already, and the next call starts the module again.
  const resume = go._resume
  if (typeof resume === 'function') go._resume = function () { if (!this.exited) return resume.call(this) }
  const imports = go.importObject.gojs
  const schedule = imports?.['runtime.scheduleTimeoutEvent']
  if (typeof schedule !== 'function' || !(go._scheduledTimeouts instanceof Map)) return // another wasm_exec.js: leave it
  imports['runtime.scheduleTimeoutEvent'] = (sp) => {
    schedule(sp)
    let last
    for (const t of go._scheduledTimeouts.values()) last = t // the one just armed
    last?.unref?.()
  }
}
fallbacks.send = send
// A stream's section goes as the view of StreamSource's buffer that it is, not copied
// into a Blob: the Go side holds every section until its next collection (at most one
// a second), and those copies reached 400-800 MiB for a 1 GiB stream. A view is safe
// as a body because the engine asks for a stream's sections one at a time: the buffer
// moves or is refilled only after the request that sent the view has ended (send ends
// one whose reply came before its body was all written).
fallbacks.streamBody = (view) => view
// A Blob from fs.openAsBlob whose file changed on disk fails to read (NotReadableError),
// whole or sliced: it can go as itself (core.js's wholeFiles).
fallbacks.wholeFiles = true

// send is core.js's send on node:http(s), with the same answer: [status, type, header
// list "name\nvalue\n…", the body as a web ReadableStream for an error status, else
// null]. A Blob body is streamed from its source (a file's, for fs.openAsBlob) with
// backpressure; a request whose reply came before its body was all sent is ended, and
// a success reply's body is drained only when it is empty (else its connection is
// dropped, as fetch's cancel does); nothing follows a redirect (as fetch's redirect: 'manual'), and there
// are no cookies to send (credentials has no effect in Node). Sockets come from the
// global agents, which keep them alive between requests (Node >= 19) without keeping
// the process alive.
function send (url, method, headers, body, credentials, signal) {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const transport = { 'http:': http, 'https:': https }[u.protocol]
    if (!transport) return reject(new TypeError(`tuswasm: cannot send to ${u.protocol} URLs`))
    const h = {}
    const kv = headers ? headers.split('\n') : []
    for (let i = 0; i + 1 < kv.length; i += 2) {
      const k = kv[i].toLowerCase()
      h[k] = k in h ? [].concat(h[k], kv[i + 1]) : kv[i + 1]
    }
    const isBlob = body instanceof Blob
    // Always a length, so that a request without a body is not sent chunked.
    if (method !== 'GET' && method !== 'HEAD') h['content-length'] = String(isBlob ? body.size : body?.byteLength ?? 0)
    let source = null
    const req = transport.request(u, { method, headers: h, signal })
    req.on('error', reject)
    req.on('close', () => source?.destroy()) // a reply before the body's end (a redirect, say)
    req.on('response', (res) => {
      let list = ''
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) list += res.rawHeaders[i] + '\n' + res.rawHeaders[i + 1] + '\n'
      // A reply that came while the body was still being sent ends the request once the
      // engine has it: node:http would go on writing the rest into a socket the server
      // may never read again (keeping the process alive), from a stream section's view
      // that changes as soon as the engine moves on (streamBody).
      const abandon = () => { if (!req.writableFinished) req.destroy() }
      if (res.statusCode < 400) {
        // Success bodies are never read. An empty one is drained and its socket kept for
        // the next request; any other goes with its connection, as fetch's cancel does,
        // so that a server dripping a body holds neither a socket nor the process.
        const empty = method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304 || res.headers['content-length'] === '0'
        if (empty) res.resume()
        else res.destroy()
        abandon()
        return resolve([res.statusCode, 'basic', list, null])
      }
      // The engine reads at most a snippet of an error body, then cancels it.
      res.once('end', abandon)
      res.once('close', abandon)
      resolve([res.statusCode, 'basic', list, Readable.toWeb(res)])
    })
    if (!isBlob) return req.end(body ?? undefined)
    source = Readable.fromWeb(body.stream())
    source.on('error', (err) => req.destroy(err)) // the file could not be read
    source.pipe(req)
  })
}

let calls = 0
let keepAlive = null
fallbacks.busy = () => {
  if (calls++ === 0) keepAlive = setInterval(() => {}, 2 ** 30)
  let ended = false
  return () => {
    if (ended) return
    ended = true
    if (--calls === 0) clearInterval(keepAlive)
  }
}

// A string that names a URL scheme fetch or this entry reads; any other string is a
// file path (C:\… included).
const urlLike = /^(https?|file|data|blob):/i

/**
 * index.js's init(), where wasmURL may also be a file path (relative to the working
 * directory); worker: true is refused, as Node has no Web Worker.
 */
export function init (options = {}) {
  if (options !== null && typeof options === 'object' && !Array.isArray(options)) {
    if (options.worker === true) {
      return Promise.reject(new TusError('INVALID_OPTION', 'tuswasm: init option worker: true is for browsers; in Node.js the module runs in the thread that imports tuswasm (import it in a worker_threads Worker to run it off the main thread)'))
    }
    const w = options.wasmURL
    if (typeof w === 'string' && w.trim() !== '' && !urlLike.test(w)) options = { ...options, wasmURL: pathToFileURL(resolvePath(w)) }
  }
  return initModule(options)
}

// processLocks stands in for navigator.locks, in the subset core.js's lock uses
// (exclusive locks; ifAvailable, or a wait that signal aborts): one holder per name in
// this process. Another process uploading the same file is not seen.
function processLocks () {
  const queues = new Map() // name → the waiters' grant functions, present while held
  const release = (name) => {
    const next = queues.get(name).shift()
    if (next) next()
    else queues.delete(name)
  }
  return {
    request (name, options, callback) {
      return new Promise((resolve, reject) => {
        const run = (lock) => {
          Promise.resolve().then(() => callback(lock)).then(resolve, reject).finally(() => lock && release(name))
        }
        const waiting = queues.get(name)
        if (!waiting) {
          queues.set(name, [])
          return run({ name, mode: 'exclusive' })
        }
        if (options?.ifAvailable) return run(null)
        const signal = options?.signal
        if (signal?.aborted) return reject(signal.reason)
        const onAbort = () => {
          const i = waiting.indexOf(grant)
          if (i >= 0) waiting.splice(i, 1)
          reject(signal.reason)
        }
        const grant = () => {
          signal?.removeEventListener('abort', onAbort)
          run({ name, mode: 'exclusive' })
        }
        signal?.addEventListener('abort', onAbort, { once: true })
        waiting.push(grant)
      })
    },
  }
}

// Every fileStorage of one file, in this process, runs its operations in turn on one
// chain: each reads the file afresh and replaces it whole.
const chains = new Map()

/**
 * A storage adapter (get, set, remove, list) that keeps entries in one JSON file, so
 * that a new process resumes what an earlier one left (tus-js-client's FileUrlStorage).
 * Each change writes a temporary file next to it and renames it over the old one: a
 * crash leaves the old file or the new one, never half of one. The file is created
 * with mode 0600; it holds what localStorage would (URLs and numbers, never headers,
 * credentials or metadata), and what it holds is checked where it is read. A missing
 * file counts as empty, and so does one that is not JSON (the next change rewrites it);
 * one that cannot be read fails the call, so that no write drops what it holds.
 * @param {string|URL} path
 */
export function fileStorage (path) {
  let file
  try {
    if (typeof path === 'string' && path.trim() !== '') file = resolvePath(path)
    else if (path instanceof URL) file = fileURLToPath(path)
  } catch {}
  if (!file) {
    throw new TusError('INVALID_OPTION', `tuswasm: fileStorage needs a file path (a non-empty string or a file: URL), not ${path instanceof URL ? path.href : typeof path}`)
  }
  const inTurn = (fn) => {
    const run = (chains.get(file) ?? Promise.resolve()).then(fn)
    chains.set(file, run.catch(() => {}))
    return run
  }
  const change = (edit) => inTurn(async () => {
    const uploads = await readEntries(file)
    if (edit(uploads) !== false) await writeEntries(file, uploads)
  })
  return {
    get: (fp) => inTurn(async () => (await readEntries(file))[fp] ?? null),
    set: (fp, entry) => change((uploads) => { uploads[fp] = entry }),
    remove: (fp) => change((uploads) => {
      if (!(fp in uploads)) return false
      delete uploads[fp]
    }),
    list: () => inTurn(async () => Object.values(await readEntries(file))),
  }
}

// readEntries is the file's {fingerprint: entry} map (without a prototype, so that no
// fingerprint can be a key of Object.prototype); entries that are not objects are
// dropped here, the rest is checked by the module.
async function readEntries (file) {
  const uploads = Object.create(null)
  let text
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    // Missing: empty. Unreadable for now (EMFILE, EACCES): an error, so that no write
    // follows that would drop the entries it holds (storage never fails an upload).
    if (err?.code === 'ENOENT') return uploads
    throw err
  }
  let data
  try {
    data = JSON.parse(text)
  } catch {
    return uploads // not JSON: empty (the next change rewrites it)
  }
  const given = data?.uploads
  if (given === null || typeof given !== 'object' || Array.isArray(given)) return uploads
  for (const [fp, entry] of Object.entries(given)) {
    if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) uploads[fp] = entry
  }
  return uploads
}

async function writeEntries (path, uploads) {
  // A symlink is followed: the file it names is replaced, and the link stays.
  const file = await realpath(path).catch(() => path)
  await mkdir(dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  const text = JSON.stringify({ tuswasm: 1, uploads })
  let h
  try {
    h = await open(tmp, 'w', 0o600)
    await h.writeFile(text)
    await h.sync() // the new file's bytes are on disk before the rename makes it the file
    await h.close()
    h = null
    await rename(tmp, file)
  } catch (err) {
    await h?.close().catch(() => {})
    await unlink(tmp).catch(() => {})
    throw err
  }
}
