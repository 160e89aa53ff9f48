// tuswasm: a tus resumable-upload client compiled from Go to WebAssembly.
// This module loads wasm_exec.js and tuswasm.wasm (next to it by default) and wraps the
// Go functions, which all return Promises, in the public API.

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
  globalThis.__tuswasm = { host: { send, error: convert, stream: streamSource, digest } } // the Go program takes this and leaves its API
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

// A ReadableStream's bytes, read once: StreamSource keeps those not yet confirmed by
// the server (about a chunk) as the stream's own Uint8Arrays, so they never enter wasm
// memory, and hands each request a Blob of them (no browser here streams a request
// body over HTTP/1.1). One StreamSource per stream, so a pause and resume continue it.
const sources = new WeakMap()

function streamSource (stream) {
  let s = sources.get(stream)
  if (!s) sources.set(stream, (s = new StreamSource(stream)))
  return s
}

class StreamSource {
  #reader
  #chunks = [] // kept bytes, from #start to #end
  #start = 0
  #end = 0
  #done = false

  constructor (stream) {
    this.#reader = stream.getReader() // throws when another reader holds it
  }

  // section resolves to [blob, got, end]: up to n bytes from off, and whether the
  // stream ends right after them (it reads a byte ahead to know).
  async section (off, n) {
    if (off < this.#start || off > this.#end) {
      throw new RangeError(`the stream no longer holds bytes from ${off} (it keeps ${this.#start}-${this.#end})`)
    }
    while (!this.#done && this.#end <= off + n) {
      const { value, done } = await this.#reader.read()
      if (done) {
        this.#done = true
      } else if (!(value instanceof Uint8Array)) {
        throw new TypeError(`the stream gave ${Object.prototype.toString.call(value)}, not Uint8Array chunks`)
      } else if (value.byteLength > 0) {
        this.#chunks.push(value)
        this.#end += value.byteLength
      }
    }
    const got = Math.min(n, this.#end - off)
    const parts = []
    let pos = this.#start
    for (const c of this.#chunks) {
      const a = Math.max(off, pos)
      const b = Math.min(off + got, pos + c.byteLength)
      if (a < b) parts.push(c.subarray(a - pos, b - pos))
      pos += c.byteLength
    }
    return [new Blob(parts), got, this.#done && off + got === this.#end]
  }

  // release lets go of the bytes before off: the server confirmed them.
  release (off) {
    while (this.#chunks.length && this.#start + this.#chunks[0].byteLength <= off) {
      this.#start += this.#chunks.shift().byteLength
    }
    if (this.#chunks.length && off > this.#start) {
      this.#chunks[0] = this.#chunks[0].slice(off - this.#start) // a copy, so the rest can go
      this.#start = off
    }
  }
}

const digestNames = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' }

// digest hashes a Blob with SubtleCrypto; null where there is none (not a secure
// context), and the Go side hashes the bytes itself.
async function digest (blob, algorithm) {
  if (!globalThis.crypto?.subtle) return null
  return new Uint8Array(await crypto.subtle.digest(digestNames[algorithm], await blob.arrayBuffer()))
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

function resolve (key, value) {
  try {
    return new URL(String(value), pageURL()).href
  } catch {
    throw new TusError('INVALID_OPTION', `tuswasm: ${key} ${value} is not a URL`)
  }
}

// normalise resolves URLs against the page (the Go side needs absolute ones). Every
// other check, types included, is the Go side's option table: values of a wrong type
// are passed on for it to reject, and no key is added.
function normalise (options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return options
  const o = { ...options }
  for (const key of ['endpoint', 'uploadUrl']) {
    if (typeof o[key] === 'string' || o[key] instanceof URL) o[key] = resolve(key, o[key])
  }
  if (Array.isArray(o.allowedOrigins)) {
    o.allowedOrigins = o.allowedOrigins.map((u) => typeof u === 'string' ? new URL(resolve('allowedOrigins', u)).origin : u)
  }
  return o
}

function convert (err) {
  if (err && err.code === 'ABORTED') return new DOMException(err.message || 'The upload was aborted', 'AbortError')
  if (err && typeof err.code === 'string' && !(err instanceof Error)) {
    return new TusError(err.code, err.message, { status: err.status, body: err.body, cause: err.cause })
  }
  return err
}

// call runs one Go function; internal ({fromServer, subset}) is only the Upload class's.
async function call (name, first, options, internal) {
  if (options?.signal?.aborted) throw new DOMException('The upload was aborted', 'AbortError')
  await init()
  try {
    return await api[name](first, normalise(options), internal)
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
  await init()
  try {
    return await api.listUploads(normalise(options))
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
 * goroutines counts the Go side's live tasks (0 before init()).
 */
export function stats () {
  return { wasmMemoryBytes: memory ? memory.buffer.byteLength : 0, goroutines: api ? api.stats().goroutines : 0 }
}

const aborted = () => new DOMException('The upload was aborted', 'AbortError')

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

  constructor (file, options = {}) {
    this.file = file
    this.options = options
    this.#url = options?.uploadUrl ?? null
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

  /** Starts or resumes the upload; a no-op while it runs or after it ended. */
  start () {
    if (this.#running || this.#settled) return
    const controller = new AbortController()
    this.#controller = controller
    const own = this.options ?? {}
    const signals = [controller.signal, own.signal].filter((s) => s instanceof AbortSignal)
    const options = {
      ...own,
      signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      onUploadUrlAvailable: (url) => {
        this.#url = url
        this.#fromServer = url !== own.uploadUrl
        own.onUploadUrlAvailable?.(url)
      },
    }
    let run
    if (this.#url) {
      run = call('upload', this.file, { ...options, uploadUrl: this.#url }, { fromServer: this.#fromServer })
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
    ).finally(() => { this.#running = null })
  }

  /** Stops sending; resolves once the in-flight request is abandoned. */
  async pause () {
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
      if (del && this.#url) {
        const { signal, ...options } = this.options ?? {}
        await call('terminate', this.#url, options, { fromServer: this.#fromServer, subset: true })
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
