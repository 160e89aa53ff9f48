// tuswasm: a tus resumable-upload client compiled from Go to WebAssembly.
// This module loads wasm_exec.js and tuswasm.wasm (next to it by default) and wraps the
// Go functions, which all return Promises, in the public API.

/** Error codes a TusError can carry. */
export const codes = Object.freeze([
  'PROTOCOL', 'OFFSET_MISMATCH', 'EXPIRED', 'HTTP', 'FILE_CHANGED', 'LOCKED',
  'NETWORK', 'REDIRECT', 'CAPABILITY', 'TOO_LARGE', 'INVALID_OPTION', 'INIT', 'INTERNAL',
])

/** Every failure other than an abort. `code` is stable; `status` is set for HTTP replies. */
export class TusError extends Error {
  constructor (code, message, { status, body, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'TusError'
    this.code = code
    if (status !== undefined) this.status = status
    if (body !== undefined) this.body = body
  }
}

let ready = null
let api = null
let memory = null // the Go instance's linear memory, for stats()

/**
 * Loads the WebAssembly module once; later calls return the same Promise.
 * @param {{wasmURL?: string|URL, wasmExecURL?: string|URL}} [options]
 */
export function init (options = {}) {
  if (!ready) {
    ready = load(options).catch((err) => {
      ready = null // allow a retry, e.g. after a network failure
      throw err instanceof TusError ? err : new TusError('INIT', `tuswasm: loading failed: ${err.message}`, { cause: err })
    })
  }
  return ready
}

async function load ({ wasmURL, wasmExecURL }) {
  wasmURL = new URL(wasmURL ?? 'tuswasm.wasm', import.meta.url)
  wasmExecURL = new URL(wasmExecURL ?? 'wasm_exec.js', import.meta.url)
  if (typeof globalThis.Go !== 'function') await import(wasmExecURL.href)
  const go = new globalThis.Go()
  const { instance } = await instantiate(wasmURL, go.importObject)
  memory = instance.exports.mem
  globalThis.__tuswasm = { host: { send } } // the Go program takes this and leaves its API
  go.run(instance).catch(() => {}) // resolves only if the Go program exits
  api = globalThis.__tuswasm?.host ? null : globalThis.__tuswasm
  delete globalThis.__tuswasm
  if (!api) throw new TusError('INIT', 'tuswasm: the Go program did not start')
}

// send is the Go side's fetch: one call out and one Promise back per request, where
// building the Headers and init objects and reading the reply from Go would cost dozens
// of Go<->JS crossings. Header lists travel as "name\nvalue\n..." (neither may hold a
// newline). It resolves to [status, type, headers, body stream or null].
function send (url, method, headers, body, credentials, signal) {
  const h = new Headers()
  if (headers) {
    const kv = headers.split('\n')
    for (let i = 0; i + 1 < kv.length; i += 2) h.append(kv[i], kv[i + 1])
  }
  return fetch(url, { method, headers: h, body, credentials, signal, redirect: 'manual' }).then((r) => {
    let out = ''
    for (const [k, v] of r.headers) out += k + '\n' + v + '\n'
    return [r.status, r.type, out, r.body]
  })
}

async function instantiate (url, imports) {
  const response = await fetch(url)
  if (!response.ok) throw new TusError('INIT', `tuswasm: ${url} answered ${response.status}`)
  if (WebAssembly.instantiateStreaming && response.headers.get('Content-Type')?.startsWith('application/wasm')) {
    return WebAssembly.instantiateStreaming(response, imports)
  }
  // Served without the application/wasm MIME type: slower, but it works.
  return WebAssembly.instantiate(await response.arrayBuffer(), imports)
}

function pageURL () {
  return globalThis.location?.href
}

// normalise resolves URLs against the page (the Go side needs absolute ones) and
// checks what can be checked cheaply before crossing into wasm.
function normalise (options = {}) {
  const o = { ...options }
  for (const key of ['endpoint', 'uploadUrl']) {
    if (o[key] == null || o[key] === '') continue
    try {
      o[key] = new URL(String(o[key]), pageURL()).href
    } catch {
      throw new TusError('INVALID_OPTION', `tuswasm: ${key} ${o[key]} is not a URL`)
    }
  }
  if (o.allowedOrigins) o.allowedOrigins = [...o.allowedOrigins].map((u) => new URL(u, pageURL()).origin)
  return o
}

function convert (err) {
  if (err && err.code === 'ABORTED') return new DOMException(err.message || 'The upload was aborted', 'AbortError')
  if (err && typeof err.code === 'string' && !(err instanceof Error)) {
    return new TusError(err.code, err.message, { status: err.status, body: err.body })
  }
  return err
}

async function call (name, ...args) {
  await init()
  try {
    return await api[name](...args)
  } catch (err) {
    throw convert(err)
  }
}

function abortedBefore (signal) {
  if (signal?.aborted) return Promise.reject(new DOMException('The upload was aborted', 'AbortError'))
  return null
}

/**
 * Uploads a Blob or File: resumes the upload remembered in storage for this file and
 * endpoint if the server still has it, otherwise creates a new one.
 * @returns {Promise<{url: string, size: number, resumed: boolean}>}
 */
export function createAndUpload (file, options) {
  return abortedBefore(options?.signal) ?? call('createAndUpload', file, normalise(options))
}

/** Creates an upload (POST) and returns its URL without sending any bytes. */
export function create (file, options) {
  return abortedBefore(options?.signal) ?? call('create', file, normalise(options))
}

/** Sends the file to an existing upload (`options.uploadUrl`), from the server's offset. */
export function upload (file, options) {
  return abortedBefore(options?.signal) ?? call('upload', file, normalise(options))
}

/** Deletes an upload on the server (termination extension). */
export function terminate (uploadUrl, options) {
  return call('terminate', new URL(uploadUrl, pageURL()).href, normalise(options))
}

/** What storage remembers for this file at this endpoint. */
export function findPreviousUploads (file, options) {
  return call('findPreviousUploads', file, normalise(options))
}

/** Every upload storage remembers (e.g. to offer resumption after a reload). */
export function listUploads (options) {
  return call('listUploads', normalise(options))
}

/**
 * Resource figures for monitoring and benchmarks. wasmMemoryBytes is the module's linear
 * memory, which only grows: chunk bytes never pass through it, so it stays small.
 */
export function stats () {
  return { wasmMemoryBytes: memory ? memory.buffer.byteLength : 0 }
}

/** Forgets a stored upload by fingerprint (the server's copy is untouched). */
export function removeUpload (fingerprint, options) {
  return call('removeUpload', fingerprint, normalise(options))
}

/**
 * An upload that can be started, paused, resumed and aborted, like tus-js-client's.
 * `done` settles when the upload finishes, fails, or is aborted.
 */
export class Upload {
  constructor (file, options = {}) {
    this.file = file
    this.options = options
    this.url = options.uploadUrl ?? null
    this._controller = null
    this._running = null
    this._settled = false
    this.done = new Promise((resolve, reject) => {
      this._resolve = resolve
      this._reject = reject
    })
    this.done.catch(() => {}) // callers that never await `done` must not see unhandled rejections
  }

  /** Starts or resumes the upload; a no-op while it runs or after it ended. */
  start () {
    if (this._running || this._settled) return
    const controller = new AbortController()
    this._controller = controller
    const signals = [controller.signal, this.options.signal].filter(Boolean)
    const options = {
      ...this.options,
      signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      onCreate: (url) => {
        this.url = url
        this.options.onCreate?.(url)
      },
    }
    const run = this.url
      ? upload(this.file, { ...options, uploadUrl: this.url })
      : createAndUpload(this.file, options)
    this._running = run.then(
      (result) => this._settle(true, result),
      (err) => {
        if (controller.signal.aborted && !this.options.signal?.aborted) return // paused
        this._settle(false, err)
      },
    ).finally(() => { this._running = null })
  }

  /** Stops sending; resolves once the in-flight request is abandoned. */
  async pause () {
    this._controller?.abort()
    await this._running
  }

  /** Same as start(), for symmetry with pause(). */
  resume () {
    this.start()
  }

  /** Stops for good; with {terminate: true} the server's upload is deleted too. */
  async abort ({ terminate: del = false } = {}) {
    await this.pause()
    if (del && this.url) {
      await terminate(this.url, this.options)
      // The server's copy is gone: forget it so nothing offers to resume it.
      if (this.options.storage !== false && this.options.endpoint) {
        for (const u of await findPreviousUploads(this.file, this.options)) {
          if (u.url === this.url) await removeUpload(u.fingerprint, this.options)
        }
      }
    }
    this._settle(false, new DOMException('The upload was aborted', 'AbortError'))
  }

  _settle (ok, value) {
    if (this._settled) return
    this._settled = true
    if (ok) this._resolve(value)
    else this._reject(value)
  }
}
