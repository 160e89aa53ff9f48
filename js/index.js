// tuswasm: a tus resumable-upload client compiled from Go to WebAssembly.
// This module is the public API. It checks options (options.js), resolves URLs
// against the page, and talks to the module over one channel (channel.js), which runs
// it in a dedicated worker or on the page. createAndUpload, create and upload are one
// call into the module each; the Upload class drives one object there (an upload
// handle) from its first start to its end.
import { connect } from './channel.js'
import { TusError, aborted, codes, convert } from './errors.js'
import { check, describe, keysOf, trusted } from './options.js'

export { TusError, codes }

// The default location of the module, written as a literal so that bundlers (Vite,
// webpack, Rollup) see it, copy the file into the build and rewrite the URL.
const defaultWasmURL = new URL('./tuswasm.wasm', import.meta.url)

let ready = null
let readyWith = null // the options init() started with
let backend = null // channel.js's connection

const initKeys = { wasmURL: 'a URL, a string, the bytes (ArrayBuffer or Uint8Array) or a WebAssembly.Module', worker: 'a boolean' }

// A module given in hand rather than by URL: its bytes, or compiled already.
const isModuleSource = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v) || v instanceof WebAssembly.Module

/**
 * Loads the WebAssembly module once; later calls with the same options return the same
 * Promise. wasmURL may also be the module's bytes or a WebAssembly.Module. With
 * {worker: true} the module runs in a dedicated Worker and the API on the page is
 * unchanged.
 * @param {{wasmURL?: string|URL|ArrayBuffer|ArrayBufferView|WebAssembly.Module, worker?: boolean}} [options]
 */
export function init (options = {}) {
  const checked = checkInit(options)
  if (checked instanceof TusError) return Promise.reject(checked)
  if (ready) {
    if (checked.worker === readyWith.worker && checked.wasmURL === readyWith.wasmURL) return ready
    return Promise.reject(new TusError('INVALID_OPTION', `tuswasm: init() already ran with ${describeInit(readyWith)}; it cannot switch to ${describeInit(checked)}`))
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
    const ok = v === undefined || (k === 'worker' ? typeof v === 'boolean' : typeof v === 'string' || v instanceof URL || isModuleSource(v))
    if (!ok) return new TusError('INVALID_OPTION', `tuswasm: init option ${k} must be ${initKeys[k]}, not ${describe(v)}`)
  }
  const worker = options.worker === true
  if (worker && typeof Worker !== 'function') {
    return new TusError('INVALID_OPTION', 'tuswasm: init option worker: true needs Web Workers, which this runtime lacks (in Node.js, start a worker_threads Worker that imports tuswasm)')
  }
  if (isModuleSource(options.wasmURL)) {
    if (options.wasmURL.byteLength === 0) return new TusError('INVALID_OPTION', 'tuswasm: init option wasmURL holds no bytes')
    return { wasmURL: options.wasmURL, worker }
  }
  let wasmURL
  try {
    wasmURL = new URL(options.wasmURL ?? defaultWasmURL, pageURL()).href
  } catch {
    return new TusError('INVALID_OPTION', `tuswasm: init option wasmURL ${options.wasmURL} is not a URL${pageURL() ? '' : ' (there is no page to resolve a relative one against)'}`)
  }
  return { wasmURL, worker }
}

// describeInit names checked init options for a message: bytes by their length.
function describeInit ({ wasmURL, worker }) {
  const w = typeof wasmURL === 'string' ? JSON.stringify(wasmURL) : wasmURL instanceof WebAssembly.Module ? 'a WebAssembly.Module' : `${wasmURL.byteLength} bytes`
  return `{wasmURL: ${w}, worker: ${worker}}`
}

async function load ({ wasmURL, worker }) {
  const b = await connect(wasmURL, { worker })
  backend = b
  // A module that dies (the Go program exits, the worker is terminated) has failed
  // its calls in flight; the next call loads it again with the same options.
  b.died.then(() => {
    if (backend !== b) return
    backend = null
    ready = null
  })
}

function pageURL () {
  return globalThis.location?.href
}

function resolve (key, value) {
  // An empty URL would resolve to the page itself.
  if (String(value).trim() === '') throw new TusError('INVALID_OPTION', `tuswasm: ${key} is empty`)
  try {
    return new URL(String(value), pageURL()).href
  } catch {
    throw new TusError('INVALID_OPTION', `tuswasm: ${key} ${value} is not a URL${pageURL() ? '' : ' (there is no page to resolve a relative one against: give an absolute one)'}`)
  }
}

// prepare checks fn's options (options.js) and resolves their URLs against the page
// (the module needs absolute ones); it throws a TusError for the first problem. A
// fingerprint function gets the file and options, as tus-js-client calls it.
function prepare (fn, options, file) {
  const err = check(fn, options)
  if (err) throw err
  if (options === undefined || options === null) return options
  const o = { ...options }
  if (typeof o.fingerprint === 'function') o.fingerprint = () => options.fingerprint(file, options)
  for (const key of ['endpoint', 'uploadUrl']) {
    if (typeof o[key] === 'string' || o[key] instanceof URL) o[key] = resolve(key, o[key])
  }
  if (Array.isArray(o.allowedOrigins)) o.allowedOrigins = o.allowedOrigins.map((u) => new URL(resolve('allowedOrigins', u)).origin)
  return o
}

// call runs one function of the module once the options passed and the module is
// there; an abort before that sends nothing.
async function call (fn, run) {
  await loaded()
  try {
    return await run(backend)
  } catch (err) {
    throw convert(err)
  }
}

async function withSignal (options, fn, run) {
  if (options?.signal?.aborted) throw aborted()
  await loaded()
  // An abort while the module loaded (or in the same tick as the call: awaiting
  // ready takes a turn) ends the call here, before anything is sent.
  if (options?.signal?.aborted) throw aborted()
  return call(fn, run)
}

// once runs op ('run' or 'create') on a new upload in one call into the module.
function once (fn, file, options, op) {
  const o = prepare(fn, options, file)
  return withSignal(o, fn, (b) => b.call('once', [file, o, op]))
}

/**
 * Uploads a Blob, File or ReadableStream: resumes the upload remembered in storage for
 * this file and endpoint if the server still has it, otherwise creates a new one.
 * @returns {Promise<{url: string, size: number, resumed: boolean, expiresAt?: string}>}
 */
export async function createAndUpload (file, options) {
  return once('createAndUpload', file, options, 'run')
}

/** Creates an upload (POST) and returns its URL without sending any bytes. */
export async function create (file, options) {
  return once('create', file, options, 'create')
}

/** Sends the file to an existing upload (`options.uploadUrl`), from the server's offset. */
export async function upload (file, options) {
  if (options === null || typeof options !== 'object' || options.uploadUrl === undefined) {
    throw check('upload', options) ?? new TusError('INVALID_OPTION', 'tus: invalid option: uploadUrl is required')
  }
  return once('upload', file, options, 'run')
}

/** Deletes an upload on the server (termination extension) and forgets it in storage. */
export async function terminate (uploadUrl, options) {
  const o = prepare('terminate', options)
  const u = typeof uploadUrl === 'string' || uploadUrl instanceof URL ? resolve('uploadUrl', uploadUrl) : uploadUrl
  return withSignal(o, 'terminate', (b) => b.call('terminate', [u, o]))
}

/** What storage remembers for this file at this endpoint. */
export async function findPreviousUploads (file, options) {
  const o = prepare('findPreviousUploads', options, file)
  return withSignal(o, 'findPreviousUploads', (b) => b.call('findPreviousUploads', [file, o]))
}

/** Every upload storage remembers (e.g. to offer resumption after a reload). */
export async function listUploads (options) {
  const o = prepare('listUploads', options)
  return call('listUploads', (b) => b.call('listUploads', [o]))
}

/** Forgets a stored upload by fingerprint (the server's copy is untouched). */
export async function removeUpload (fingerprint, options) {
  const o = prepare('removeUpload', options)
  return withSignal(o, 'removeUpload', (b) => b.call('removeUpload', [fingerprint, o]))
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

// forgotten lets go of the upload object of an Upload the page dropped before done
// settled (paused, never aborted): nothing else would.
const forgotten = new FinalizationRegistry((handle) => handle.then((h) => h.dispose()).catch(() => {}))

/**
 * An upload that can be started, paused, resumed and aborted, like tus-js-client's:
 * a thin proxy of one upload object in the module, which keeps its URL, the trust
 * the caller gave it and a parallel upload's parts across pauses. `done` settles when
 * the upload finishes, fails, or is aborted.
 */
export class Upload {
  #url
  #handle = null // Promise of the module's upload handle, made by the first start()
  #running = null
  #pausing = false // our own pause() is ending the run
  #restart = false // resume() came while a pause was still ending: start once it has
  #settled = false
  #stopped = false // abort() was called: start() is a no-op from then on
  #aborting = null // the last abort(): the next one starts once it has ended
  #resolve
  #reject

  constructor (file, options = {}) {
    this.file = file
    this.options = options
    const given = options?.uploadUrl
    try {
      // Absolute, as onUploadUrlAvailable reports it: what the url getter promises.
      this.#url = typeof given === 'string' || given instanceof URL ? resolve('uploadUrl', given) : given ?? null
    } catch {
      this.#url = given // start() rejects it with INVALID_OPTION
    }
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
    if (this.#settled || this.#stopped) return
    if (this.#running) {
      if (this.#pausing) this.#restart = true
      return
    }
    this.#running = this.#live()
      .then((h) => this.#pausing ? Promise.reject(aborted()) : h.run()) // paused before it ran
      .then((result) => this.#settle(true, result), (err) => {
        if (!this.#pausing) this.#settle(false, err instanceof Error ? err : convert(err))
      })
      .finally(() => {
        this.#running = null
        this.#pausing = false
        if (this.#restart) {
          this.#restart = false
          this.start()
        }
      })
  }

  // live is the module's upload object: the one made before, or a new one when none
  // was made yet or the module it lived in has died (the next call starts the module
  // again, as every call does). For a termination, one whose making failed (the
  // options' signal had aborted, say) is made again without the signal, which never
  // ends a termination.
  #live (terminating = false) {
    this.#handle = this.#handle?.then((h) => h.dead() || this.#settled ? this.#open(terminating) : h,
      (err) => terminating ? this.#open(true) : Promise.reject(err)) ?? this.#open(terminating)
    forgotten.unregister(this)
    forgotten.register(this, this.#handle, this)
    return this.#handle
  }

  // open makes the module's upload object; a bad option or a module that cannot load
  // settles `done`.
  async #open (terminating = false) {
    const own = this.options ?? {}
    const options = prepare('Upload', own, this.file)
    if (terminating) delete options.signal
    // An upload object made again after the module died continues the upload at the
    // URL the old one knew when that URL is on an origin the options trust anyway
    // (passing it as uploadUrl then trusts no new origin); otherwise it resumes what
    // storage keeps, or creates anew.
    if (this.#url && this.#url !== options.uploadUrl && trusted(options, this.#url)) options.uploadUrl = this.#url
    const make = (b) => b.upload(this.file, { ...options, onUploadUrlAvailable: Upload.#reporter(new WeakRef(this), own) })
    const h = await (terminating ? call('Upload', make) : withSignal(options, 'Upload', make))
    if (this.#settled && !terminating) h.dispose().catch(() => {})
    return h
  }

  // reporter is the onUploadUrlAvailable the module keeps for as long as the upload
  // object lives: it must not keep the Upload alive (see forgotten), so it holds it
  // weakly and is made where no closure captures this.
  static #reporter (self, own) {
    return (url) => {
      const up = self.deref()
      if (up) up.#url = url
      own.onUploadUrlAvailable?.(url)
    }
  }

  // terminateAt deletes the upload at url once this Upload's object is gone (done
  // settled and let it go): on an origin the options do not trust (a server's), without
  // the caller's headers, hooks and credentials, as the upload object sent to it.
  #terminateAt (url) {
    const own = prepare('Upload', this.options ?? {})
    const o = Object.fromEntries(keysOf('terminate').filter((k) => k !== 'signal' && own[k] !== undefined).map((k) => [k, own[k]]))
    if (!trusted(own, url)) {
      for (const k of ['headers', 'onBeforeRequest', 'onAfterResponse', 'onShouldRetry']) delete o[k]
      o.credentials = 'omit'
    }
    return call('terminate', (b) => b.call('terminate', [url, o]))
  }

  /** Stops sending; resolves once the in-flight request is abandoned. */
  async pause () {
    this.#restart = false
    const running = this.#running
    if (!running) return
    this.#pausing = true
    const h = await this.#handle.catch(() => null)
    await h?.pause().catch(() => {})
    await running
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
    this.#stopped = true
    const before = this.#aborting
    this.#aborting = (async () => {
      // One at a time: a second termination must not find the upload object let go
      // of by the first one's end.
      await before?.catch(() => {})
      return this.#abort(del)
    })()
    return this.#aborting
  }

  async #abort (del) {
    try {
      await this.pause()
      const late = this.#settled // done has settled: the upload object is gone
      if (del && late && this.#url) {
        await this.#terminateAt(this.#url)
      } else if (del) {
        const h = await this.#live(true)
        try {
          await h.terminate()
        } catch (err) {
          throw convert(err)
        } finally {
          if (late) {
            forgotten.unregister(this)
            h.dispose().catch(() => {})
          }
        }
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
    forgotten.unregister(this)
    this.#handle?.then((h) => h.dispose()).catch(() => {})
  }
}
