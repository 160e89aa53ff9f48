// tus-js-client's call shape over tuswasm (`import * as tus from 'tuswasm/compat'`): an
// Upload with callbacks, start() and abort(shouldTerminate), findPreviousUploads() and
// resumeFromPreviousUpload(), so that a tus-js-client 4 program runs unchanged. It is a
// translation layer only: options become tuswasm's (index.js checks them), callbacks
// are fed from tuswasm's Upload. Where the two differ, the README says so.
import { Upload as Core, TusError, findPreviousUploads, terminate } from './index.js'
import { keysOf, trusted } from './options.js'

export { TusError as DetailedError }

/** tus-js-client's defaults, where tuswasm's differ. */
export const defaultOptions = Object.freeze({
  chunkSize: Infinity,
  retryDelays: Object.freeze([0, 1000, 3000, 5000]),
  uploadDataDuringCreation: false,
  storeFingerprintForResuming: true,
  removeFingerprintOnSuccess: false,
})

export const isSupported = typeof WebAssembly === 'object' && typeof fetch === 'function' && typeof Blob === 'function'
export const canStoreURLs = (() => {
  try {
    return typeof localStorage === 'object' && localStorage !== null
  } catch {
    return false // a sandboxed frame throws on access
  }
})()

/** tus-js-client's debug log; tuswasm has none. */
export function enableDebugLog () {}

// Options of tus-js-client that tuswasm cannot take, with why.
const refused = {
  httpStack: 'tuswasm sends with fetch; use onBeforeRequest and onAfterResponse',
  fileReader: 'tuswasm sends Blob slices as they are',
  urlStorage: "tuswasm keeps its own storage: use the storage option (false, 'memory', 'indexeddb' or {get, set, remove, list})",
  overridePatchMethod: 'tuswasm always sends PATCH',
  metadataForPartialUploads: "tuswasm sends no metadata with a parallel upload's parts",
}

// The callbacks and options this file translates; every other key goes to tuswasm as
// it is (its own options, such as checksum or credentials, included).
const translated = new Set(['onProgress', 'onChunkComplete', 'onSuccess', 'onError', 'onUploadUrlAvailable',
  'onShouldRetry', 'onBeforeRequest', 'onAfterResponse', 'fingerprint', 'chunkSize', 'retryDelays',
  'storeFingerprintForResuming', 'removeFingerprintOnSuccess', 'uploadLengthDeferred', 'addRequestId',
  'uploadUrl', 'uploadSize', 'parallelUploads', 'parallelUploadBoundaries', 'metadata', 'headers', 'endpoint'])

// Stored uploads that findPreviousUploads returned: resuming one of them is left to
// tuswasm's storage, which finds it again (and checks its origin and content).
const fromStorage = new WeakSet()

// headerOf is the value of header k in headers, whatever the case of either name (the
// module's names are Go's canonical ones: X-Request-Id, Etag).
function headerOf (headers, k) {
  const name = String(k).toLowerCase()
  const key = Object.keys(headers).find((h) => h.toLowerCase() === name)
  return key === undefined ? undefined : headers[key]
}

// wrapRequest is tuswasm's request {method, url, headers} as tus-js-client's HttpRequest.
function wrapRequest (req) {
  return {
    getMethod: () => req.method,
    getURL: () => req.url,
    setHeader: (k, v) => { req.headers[k] = String(v) },
    getHeader: (k) => headerOf(req.headers, k),
    getUnderlyingObject: () => req,
  }
}

// wrapResponse is tuswasm's reply {status, headers, body} as tus-js-client's HttpResponse.
function wrapResponse (res) {
  return {
    getStatus: () => res.status,
    getHeader: (k) => headerOf(res.headers, k),
    getBody: () => res.body,
    getUnderlyingObject: () => res,
  }
}

// detailed gives a TusError tus-js-client's DetailedError fields.
function detailed (err) {
  if (!(err instanceof Error)) return err
  err.causingError ??= err.cause ?? null
  err.originalRequest ??= null
  err.originalResponse ??= err.status ? wrapResponse({ status: err.status, headers: {}, body: '' }) : null
  return err
}

// report hands err to onError, or throws it as tus-js-client does without one (outside
// any Promise: an uncaught error the page's error handlers see).
function report (onError, err) {
  if (typeof onError === 'function') onError(err)
  else setTimeout(() => { throw err })
}

export class Upload {
  /** @param {Blob|ReadableStream} file @param {object} options tus-js-client's */
  constructor (file, options = {}) {
    this.file = file
    this.options = { ...defaultOptions, ...options }
    this.url = options?.uploadUrl ?? null
    this._given = options ?? {}
    this._core = null // tuswasm's Upload of the last start(); abort() pauses it
    this._ended = false // that Upload settled: the next start() makes another
    this._stopped = true // abort() was called: no callback runs until start()
    this._previous = null
    this._terminated = false // abort(true) deleted the upload
    this._aborting = null // abort() of a stream's upload, until its Upload has ended
  }

  /** Starts or, after abort(), continues the upload. */
  start () {
    this._stopped = false
    if (this._aborting) { // a stream's upload still ending (abort() not awaited): then continue
      const again = () => { if (!this._stopped) this.start() }
      return void this._aborting.then(again, again)
    }
    if (this._core && !this._ended) return this._core.resume()
    let options
    try {
      options = this._translate()
    } catch (err) {
      return report(this.options.onError, detailed(err))
    }
    // After the last start() ended (a failure, a success), this one continues the upload
    // it made, as tus-js-client does at upload.url, where that origin is trusted anyway;
    // one the server no longer has is made anew.
    if (this._core && this.url && !this._terminated && options.uploadUrl === undefined && trusted(options, this.url)) {
      Object.assign(options, { uploadUrl: this.url, onExpired: options.onExpired ?? 'recreate' })
    }
    this._terminated = false
    const core = this._core = new Core(this.file, options)
    this._ended = false
    // Ended before the callbacks run: a start() they make (a retry in onError) makes
    // another upload instead of resuming the settled one.
    const ended = () => { if (this._core === core) this._ended = true }
    core.done.then((result) => {
      ended()
      this.url = result.url
      if (!this._stopped) this.options.onSuccess?.({ lastResponse: null })
    }, (err) => {
      ended()
      if (!this._stopped && err?.name !== 'AbortError') report(this.options.onError, detailed(err))
    })
    core.start()
  }

  /**
   * Stops sending; start() continues (a stream's upload at upload.url, since its Upload
   * lets go of the stream). With shouldTerminate the upload is deleted on the
   * server (and forgotten in storage), also after it completed, and a later start()
   * creates a new one.
   */
  async abort (shouldTerminate = false) {
    this._stopped = true
    const core = this._core
    if (!shouldTerminate && core && typeof ReadableStream === 'function' && this.file instanceof ReadableStream) {
      // A stream feeds one upload at a time, and a paused one keeps it: this one ends
      // here, so that the stream can go to another Upload, and start() continues it at
      // upload.url, as after a failure.
      this._ended = true
      const aborting = this._aborting = core.abort().finally(() => {
        if (this._aborting === aborting) this._aborting = null
      })
      return aborting
    }
    if (!shouldTerminate) return core?.pause()
    this._ended = true
    this._terminated = true // the next start() makes another upload
    const url = this.url
    // tuswasm's Upload sends the deletion with the trust its URL has (a server's URL
    // on another origin gets no headers); a URL only resumeFromPreviousUpload gave is
    // the caller's.
    if (core) return core.abort({ terminate: true })
    if (url) return Upload.terminate(url, this.options)
  }

  /** What storage remembers for this file at the endpoint, as tus-js-client lists it. */
  async findPreviousUploads () {
    const o = this._translate()
    const found = await findPreviousUploads(this.file, { endpoint: o.endpoint, storage: o.storage, fingerprint: o.fingerprint })
    return found.map((u) => {
      const p = { size: u.size, metadata: { ...this.options.metadata }, creationTime: u.createdAt, urlStorageKey: u.fingerprint, uploadUrl: u.url || null, parallelUploadUrls: u.parts?.map((part) => part.url) ?? null }
      fromStorage.add(p)
      return p
    })
  }

  /**
   * Continues previous (one of findPreviousUploads(), or an object with the uploadUrl you
   * kept) at the next start().
   */
  resumeFromPreviousUpload (previous) {
    this._previous = previous
    this.url = previous?.uploadUrl ?? null
  }

  /** Deletes the upload at url (tus-js-client's Upload.terminate). */
  static terminate (url, options = {}) {
    // The keys tuswasm's terminate takes (the option table's), with tus-js-client's
    // default retryDelays unless tuswasm's retry is given.
    const keys = keysOf('terminate')
    const o = Object.fromEntries(Object.entries(options).filter(([k]) => keys.includes(k)))
    if (o.retry === undefined) o.retryDelays ??= [...defaultOptions.retryDelays]
    Object.assign(o, wrapHooks({ ...options, retryDelays: o.retryDelays })) // addRequestId too
    return terminate(url, o)
  }

  // translate is tuswasm's options for this upload; it throws a TusError for an option
  // tuswasm cannot take.
  _translate () {
    const src = this.options
    for (const [k, why] of Object.entries(refused)) {
      if (src[k] !== undefined && src[k] !== null) throw new TusError('INVALID_OPTION', `tuswasm/compat: option ${k} is not supported: ${why}`)
    }
    if (src.protocol === 'ietf-draft-03') throw new TusError('INVALID_OPTION', "tuswasm/compat: protocol 'ietf-draft-03' is not supported: use 'ietf-draft-05'")
    const o = {}
    for (const [k, v] of Object.entries(src)) if (!translated.has(k) && !(k in refused)) o[k] = v
    for (const k of ['endpoint', 'metadata', 'headers', 'uploadSize', 'parallelUploadBoundaries']) if (src[k] != null) o[k] = src[k]
    if (src.parallelUploads > 1) o.parallelUploads = src.parallelUploads
    if (src.chunkSize !== Infinity && src.chunkSize != null) Object.assign(o, { chunkSize: src.chunkSize, adaptiveChunkSize: false })
    if (src.uploadLengthDeferred && !(this.file instanceof ReadableStream)) {
      throw new TusError('INVALID_OPTION', 'tuswasm/compat: uploadLengthDeferred is for a ReadableStream without uploadSize (tuswasm defers its length by itself)')
    }
    if (!src.storeFingerprintForResuming) o.storage = false
    // tuswasm's retry given alone replaces tus-js-client's default retryDelays.
    if (!('retry' in this._given) || 'retryDelays' in this._given) o.retryDelays = src.retryDelays
    // A previous upload you kept is yours; one findPreviousUploads listed (storage is not
    // trusted input) is continued only on an origin the options trust, else left to
    // storage to find again.
    const p = this._previous
    const uploadUrl = p && (!fromStorage.has(p) || trusted(src, p.uploadUrl)) ? p.uploadUrl : src.uploadUrl
    if (uploadUrl != null) o.uploadUrl = uploadUrl
    if (p && fromStorage.has(p) && o.uploadUrl === p.uploadUrl) o.onExpired ??= 'recreate' // as tus-js-client: gone, made anew
    if (typeof src.fingerprint === 'function') o.fingerprint = () => src.fingerprint(this.file, src)
    Object.assign(o, wrapHooks(src))
    return this._callbacks(o)
  }

  // callbacks feeds tus-js-client's callbacks from tuswasm's, none after abort().
  _callbacks (o) {
    const src = this.options
    // onChunkComplete reports the bytes confirmed since the last report: from 0 for an
    // upload this run created, from the first offset reported for one it resumed (the
    // offset its HEAD found is no chunk, as in tus-js-client).
    let last = null
    let created = false
    const onCreate = o.onCreate
    o.onCreate = (url) => {
      created = true
      onCreate?.(url)
    }
    o.onProgress = (sent, total) => {
      last ??= created ? 0 : sent
      if (this._stopped) return
      src.onProgress?.(sent, total)
      if (sent > last) src.onChunkComplete?.(sent - last, sent, total)
      last = sent
    }
    o.onUploadUrlAvailable = (url) => {
      this.url = url
      if (!this._stopped) src.onUploadUrlAvailable?.()
    }
    return o
  }
}

// wrapHooks is tuswasm's hooks for tus-js-client's onBeforeRequest, onAfterResponse,
// onShouldRetry and addRequestId.
function wrapHooks (src) {
  const o = {}
  const before = src.onBeforeRequest
  if (before || src.addRequestId) {
    o.onBeforeRequest = async (req) => {
      const r = wrapRequest(req)
      if (src.addRequestId) r.setHeader('X-Request-ID', crypto.randomUUID())
      await before?.(r)
    }
  }
  if (src.onAfterResponse) o.onAfterResponse = (req, res) => src.onAfterResponse(wrapRequest(req), wrapResponse(res))
  if (src.onShouldRetry) o.onShouldRetry = (err, attempt) => src.onShouldRetry(detailed(err), attempt - 1, src)
  return o
}
