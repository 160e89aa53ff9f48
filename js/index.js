// tuswasm: a tus resumable-upload client compiled from Go to WebAssembly.
// This module loads tuswasm.wasm (next to it by default), on the page (core.js) or in a
// dedicated worker (remote.js, worker.js), and wraps the Go functions, which all return
// Promises, in the public API.
import { calls, start } from './core.js'
import { startWorker } from './remote.js'
import { storageFor } from './storage.js'

/** Error codes a TusError can carry (the engine's table; a test holds them equal). */
export const codes = Object.freeze([
  'NETWORK', 'HTTP', 'EXPIRED', 'OFFSET_MISMATCH', 'PROTOCOL', 'REDIRECT', 'FILE_CHANGED',
  'LOCKED', 'CAPABILITY', 'TOO_LARGE', 'INVALID_OPTION', 'HOOK', 'INTERNAL', 'INIT',
])

/**
 * Every failure other than an abort. `code` is stable; `status` is set for HTTP replies;
 * `cause` is what a function you passed threw (code HOOK).
 */
export class TusError extends Error {
  constructor (code, message, { status, body, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'TusError'
    this.code = code
    if (status !== undefined) this.status = status
    if (body !== undefined) this.body = body
  }
}

// The default location of the module, written as a literal so that bundlers (Vite,
// webpack, Rollup) see it, copy the file into the build and rewrite the URL.
const defaultWasmURL = new URL('./tuswasm.wasm', import.meta.url)

let ready = null
let readyWith = null // the options init() started with
let backend = null // {call(name, args), stats()}

const initKeys = { wasmURL: 'a URL or string', worker: 'a boolean' }

/**
 * Loads the WebAssembly module once; later calls with the same options return the same
 * Promise. With {worker: true} the module runs in a dedicated Worker and the API on the
 * page is unchanged.
 * @param {{wasmURL?: string|URL, worker?: boolean}} [options]
 */
export function init (options = {}) {
  const checked = checkInit(options)
  if (checked instanceof TusError) return Promise.reject(checked)
  if (ready) {
    if (checked.worker === readyWith.worker && checked.wasmURL === readyWith.wasmURL) return ready
    return Promise.reject(new TusError('INVALID_OPTION', `tuswasm: init() already ran with ${JSON.stringify(readyWith)}; it cannot switch to ${JSON.stringify(checked)}`))
  }
  readyWith = checked
  ready = load(checked).catch((err) => {
    ready = null // allow a retry, e.g. after a network failure
    throw err instanceof TusError ? err : new TusError('INIT', `tuswasm: loading failed: ${err.message}`, { cause: err })
  })
  return ready
}

// loaded waits for the module: init()'s, or one loaded now with init()'s options of
// before (a call before init(), or after the module died) or the defaults.
function loaded () {
  return ready ?? init(readyWith ?? {})
}

function checkInit (options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    return new TusError('INVALID_OPTION', 'tuswasm: init options must be an object')
  }
  for (const [k, v] of Object.entries(options)) {
    if (!(k in initKeys)) return new TusError('INVALID_OPTION', `tuswasm: unknown init option "${k}"`)
    const ok = v === undefined || (k === 'worker' ? typeof v === 'boolean' : typeof v === 'string' || v instanceof URL)
    if (!ok) return new TusError('INVALID_OPTION', `tuswasm: init option ${k} must be ${initKeys[k]}`)
  }
  let wasmURL
  try {
    wasmURL = new URL(options.wasmURL ?? defaultWasmURL, pageURL()).href
  } catch {
    return new TusError('INVALID_OPTION', `tuswasm: init option wasmURL ${options.wasmURL} is not a URL`)
  }
  return { wasmURL, worker: options.worker === true }
}

async function load ({ wasmURL, worker }) {
  const b = worker ? await startWorker(wasmURL) : await startHere(wasmURL)
  backend = b
  // A backend that dies (the Go program exits, the worker is terminated) has failed its
  // calls in flight; the next call loads the module again with the same options.
  b.died.then(() => {
    if (backend !== b) return
    backend = null
    ready = null
  })
}

async function startHere (wasmURL) {
  const { api, memory, exited } = await start(wasmURL, { makeError: convert, storage: storageFor })
  const inFlight = calls()
  exited.then(inFlight.fail)
  return {
    call: (name, args) => inFlight.track(() => api[name](...args)),
    stats: () => ({ wasmMemoryBytes: memory.buffer.byteLength, goroutines: api.stats().goroutines }),
    died: inFlight.died,
  }
}

function pageURL () {
  return globalThis.location?.href
}

function resolve (key, value) {
  try {
    return new URL(String(value), pageURL()).href
  } catch {
    throw new TusError('INVALID_OPTION', `tuswasm: ${key} ${value} is not a URL`)
  }
}

// normalise resolves URLs against the page (the Go side needs absolute ones). Every
// other check, types included, is the Go side's option table: values of a wrong type
// are passed on for it to reject, and no key is added. One check is made here, for
// worker mode, whose messages would turn them into empty objects: headers and metadata
// must be plain objects, not a Headers or a Map (entries, but no own keys).
function normalise (options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return options
  for (const key of ['headers', 'metadata']) {
    const v = options[key]
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Symbol.iterator in v) {
      throw new TusError('INVALID_OPTION', `tuswasm: option ${key} must be a plain object of strings, not a ${v.constructor?.name ?? 'iterable'} (Object.fromEntries(…) makes one)`)
    }
  }
  const o = { ...options }
  for (const key of ['endpoint', 'uploadUrl']) {
    if (typeof o[key] === 'string' || o[key] instanceof URL) o[key] = resolve(key, o[key])
  }
  if (Array.isArray(o.allowedOrigins)) {
    o.allowedOrigins = o.allowedOrigins.map((u) => typeof u === 'string' ? new URL(resolve('allowedOrigins', u)).origin : u)
  }
  return o
}

const aborted = () => new DOMException('The upload was aborted', 'AbortError')

function convert (err) {
  if (err && err.code === 'ABORTED') return new DOMException(err.message || 'The upload was aborted', 'AbortError')
  if (err && typeof err.code === 'string' && !(err instanceof Error)) {
    return new TusError(err.code, err.message, { status: err.status, body: err.body, cause: err.cause })
  }
  return err
}

// call runs one Go function; internal ({fromServer, subset}) is only the Upload class's.
async function call (name, first, options, internal) {
  if (options?.signal?.aborted) throw aborted()
  await loaded()
  // An abort while the module loaded (or in the same tick as the call: awaiting ready
  // takes a turn) ends the call here, before anything is sent.
  if (options?.signal?.aborted) throw aborted()
  try {
    return await backend.call(name, [first, normalise(options), internal])
  } catch (err) {
    throw convert(err)
  }
}

/**
 * Uploads a Blob, File or ReadableStream: resumes the upload remembered in storage for
 * this file and endpoint if the server still has it, otherwise creates a new one.
 * @returns {Promise<{url: string, size: number, resumed: boolean, expiresAt?: string}>}
 */
export async function createAndUpload (file, options) {
  return call('createAndUpload', file, options)
}

/** Creates an upload (POST) and returns its URL without sending any bytes. */
export async function create (file, options) {
  return call('create', file, options)
}

/** Sends the file to an existing upload (`options.uploadUrl`), from the server's offset. */
export async function upload (file, options) {
  return call('upload', file, options)
}

/** Deletes an upload on the server (termination extension) and forgets it in storage. */
export async function terminate (uploadUrl, options) {
  return call('terminate', typeof uploadUrl === 'string' || uploadUrl instanceof URL ? resolve('uploadUrl', uploadUrl) : uploadUrl, options)
}

/** What storage remembers for this file at this endpoint. */
export async function findPreviousUploads (file, options) {
  return call('findPreviousUploads', file, options)
}

/** Every upload storage remembers (e.g. to offer resumption after a reload). */
export async function listUploads (options) {
  await loaded()
  try {
    return await backend.call('listUploads', [normalise(options)])
  } catch (err) {
    throw convert(err)
  }
}

/** Forgets a stored upload by fingerprint (the server's copy is untouched). */
export async function removeUpload (fingerprint, options) {
  return call('removeUpload', fingerprint, options)
}

/**
 * Resource figures for monitoring and tests. wasmMemoryBytes is the module's linear
 * memory, which only grows: chunk bytes never pass through it, so it stays small;
 * goroutines counts the Go side's live tasks (0 before init()). In worker mode they are
 * as of the last call that ended.
 */
export function stats () {
  return backend ? backend.stats() : { wasmMemoryBytes: 0, goroutines: 0 }
}


/**
 * An upload that can be started, paused, resumed and aborted, like tus-js-client's.
 * `done` settles when the upload finishes, fails, or is aborted.
 */
export class Upload {
  #url
  #fromServer = false // #url came from a server: it gets no trust of its own
  #controller = null
  #running = null
  #settled = false
  #resolve
  #reject
  #parts = null // with parallelUploads and storage: false, this upload's own memory storage
  #given = null // the caller's uploadUrl, absolute: the one URL that is not a server's
  #restart = false // resume() came while a pause was still ending: start once it has

  // storage is what the calls use: the caller's, or for a parallel upload that is not to
  // be stored, a memory of this Upload's own, so that pause and resume continue its parts.
  #storage (own) {
    if (own.storage !== false || !(own.parallelUploads > 1 || own.parallelUploadBoundaries)) return own.storage
    if (!this.#parts) {
      const m = new Map()
      this.#parts = { get: (fp) => m.get(fp) ?? null, set: (fp, e) => void m.set(fp, e), remove: (fp) => void m.delete(fp), list: () => [...m.values()] }
    }
    return this.#parts
  }

  constructor (file, options = {}) {
    this.file = file
    this.options = options
    const given = options?.uploadUrl
    try {
      // Absolute, as onUploadUrlAvailable reports it: the comparison that keeps the
      // caller's trust in it, and what the url getter promises (a string).
      this.#given = typeof given === 'string' || given instanceof URL ? resolve('uploadUrl', given) : given ?? null
    } catch {
      this.#given = given // start() rejects it with INVALID_OPTION
    }
    this.#url = this.#given
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.done.catch(() => {}) // callers that never await `done` must not see unhandled rejections
  }

  /** The upload's URL once it was created or resumed (onUploadUrlAvailable), else null. */
  get url () {
    return this.#url
  }

  /**
   * Starts or resumes the upload; a no-op while it runs or after it ended. Called while
   * a pause is ending (pause() not awaited), it starts again once it has.
   */
  start () {
    if (this.#settled) return
    if (this.#running) {
      // pause() without awaiting it, then resume(): start again once the pause ended.
      if (this.#controller?.signal.aborted) this.#restart = true
      return
    }
    const controller = new AbortController()
    this.#controller = controller
    const own = this.options ?? {}
    if (own.signal !== undefined && !(own.signal instanceof AbortSignal)) {
      // The AbortSignal.any below would drop it silently; createAndUpload rejects it.
      this.#settle(false, new TusError('INVALID_OPTION', `tuswasm: option signal must be an AbortSignal, not ${own.signal === null ? 'null' : 'a ' + (own.signal?.constructor?.name ?? typeof own.signal)}`))
      return
    }
    const signals = [controller.signal, own.signal].filter((s) => s instanceof AbortSignal)
    const options = {
      ...own,
      storage: this.#storage(own),
      signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      onUploadUrlAvailable: (url) => {
        this.#url = url
        this.#fromServer = url !== this.#given
        own.onUploadUrlAvailable?.(url)
      },
    }
    let run
    if (this.#url) {
      run = call('upload', this.file, { ...options, uploadUrl: this.#url }, { fromServer: this.#fromServer, subset: true })
    } else {
      delete options.uploadUrl
      run = call('createAndUpload', this.file, options)
    }
    this.#running = run.then(
      (result) => this.#settle(true, result),
      (err) => {
        if (controller.signal.aborted && !own.signal?.aborted) return // paused
        this.#settle(false, err)
      },
    ).finally(() => {
      this.#running = null
      if (this.#restart) {
        this.#restart = false
        this.start()
      }
    })
  }

  /** Stops sending; resolves once the in-flight request is abandoned. */
  async pause () {
    this.#restart = false
    this.#controller?.abort()
    await this.#running
  }

  /** Same as start(), for symmetry with pause(). */
  resume () {
    this.start()
  }

  /**
   * Stops for good; `done` rejects with an AbortError whatever happens here. With
   * {terminate: true} the server's upload is deleted and its stored entry forgotten, in
   * one call (an upload already gone counts as deleted); that call's failure rejects
   * the Promise abort() returns.
   */
  async abort ({ terminate: del = false } = {}) {
    try {
      await this.pause()
      const { signal, ...options } = this.options ?? {}
      options.storage = this.#storage(options)
      if (del && this.#url) {
        await call('terminate', this.#url, options, { fromServer: this.#fromServer, subset: true })
      } else if (del && options.storage !== false) {
        // No URL yet (a parallel upload's parts, or a creation in flight): what storage keeps.
        await call('terminateStored', this.file, options, { subset: true })
      }
    } finally {
      this.#settle(false, aborted())
    }
  }

  #settle (ok, value) {
    if (this.#settled) return
    this.#settled = true
    if (ok) this.#resolve(value)
    else this.#reject(value)
  }
}
