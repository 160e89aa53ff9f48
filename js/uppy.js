// tuswasm's uploader for Uppy 6 (`import TusWasm from 'tuswasm/uppy'`): @uppy/tus's
// contract and option names, with tuswasm doing the uploads through its tus-js-client
// shape (compat.js), as @uppy/tus does through tus-js-client. @uppy/core is a peer
// dependency, and BasePlugin all this file takes from it (so that Uppy's one-file
// bundle serves as well as the packages).
import { BasePlugin } from '@uppy/core'
import { Upload } from './compat.js'
import { TusError, init } from './index.js'
import { check, describe, trusted } from './options.js'

// @uppy/tus's defaults.
const defaults = { limit: 20, retryDelays: [100, 1000, 3000, 5000], withCredentials: false, allowedMetaFields: true }

const isFunction = (v) => typeof v === 'function'
const isPlain = (v) => v !== null && typeof v === 'object' && !Array.isArray(v)

// The plugin's own options (Uppy's and @uppy/tus's), with what each must be; every
// other key is an upload option that tuswasm's tus-js-client shape checks.
const own = {
  id: ['a string', (v) => typeof v === 'string'],
  locale: ['an object', isPlain],
  limit: ['a whole number of uploads at once (0: no limit)', (v) => Number.isInteger(v) && v >= 0],
  withCredentials: ['a boolean', (v) => typeof v === 'boolean'],
  allowedMetaFields: ['true, false or an array of field names', (v) => typeof v === 'boolean' || v === null || (Array.isArray(v) && v.every((s) => typeof s === 'string'))],
  headers: ['an object of strings or a function (file) returning one', (v) => isFunction(v) || isPlain(v)],
  onBeforeRequest: ['a function (req, file)', isFunction],
  onShouldRetry: ['a function (err, retryAttempt, options, next)', isFunction],
  worker: ['a boolean (init\'s worker option)', (v) => typeof v === 'boolean'],
  wasmURL: ['a URL (init\'s wasmURL option)', (v) => typeof v === 'string' || v instanceof URL],
}
const refused = {
  rateLimitedQueue: 'use limit',
  metaFields: 'it is called allowedMetaFields',
  autoRetry: '@uppy/tus removed it too',
}

const bad = (message) => new TusError('INVALID_OPTION', `tuswasm/uppy: ${message}`)

// Slots bounds how many uploads send at once (limit; 0: no bound), first come first
// served, as @uppy/tus's queue does.
class Slots {
  #free
  #waiting = []

  constructor (limit) {
    this.#free = limit || Infinity
  }

  // add queues start, called once a slot is free (from pump()); release() frees the
  // slot, or leaves the queue, once. The caller keeps the handle before pump() runs
  // start, which may end the upload (and release the slot) before it returns.
  add (start) {
    const h = { start, running: false, released: false }
    h.release = () => {
      if (h.released) return
      h.released = true
      if (h.running) this.#free++
      else this.#waiting.splice(this.#waiting.indexOf(h), 1)
      this.pump()
    }
    this.#waiting.push(h)
    return h
  }

  pump () {
    while (this.#free > 0 && this.#waiting.length > 0) {
      const h = this.#waiting.shift()
      this.#free--
      h.running = true
      h.start()
    }
  }
}

// What Uppy sends (as @uppy/core's utils decide): not failed, not complete.
const toUpload = (files) => files.filter((f) => !f.error && !f.progress?.uploadComplete)
// Whose upload-start is due: all but restored files that had started.
const toAnnounce = (files) => files.filter((f) => !f.progress?.uploadStarted || !f.isRestored)

// checkOptions throws a TusError (INVALID_OPTION) for the first bad option, as every
// other entry point of the package does, so that a typo fails at uppy.use().
function checkOptions (opts) {
  const rest = {}
  for (const [k, v] of Object.entries(opts)) {
    if (k in refused) throw bad(`option ${k} is not taken: ${refused[k]}`)
    if (v === undefined) continue
    if (!(k in own)) rest[k] = v
    else if (!own[k][1](v)) throw bad(`option ${k} must be ${own[k][0]}, not ${describe(v)}`)
  }
  // The tus-js-client shape translates the rest into tuswasm's options, and refuses
  // what it cannot take; the table then checks types and names.
  const translated = new Upload(new Blob([]), rest)._translate()
  const err = check('Upload', translated)
  if (err) throw err
}

export default class TusWasm extends BasePlugin {
  static VERSION = '0.1.0'

  #slots
  #live = new Map() // file ID → {upload, stop}
  #failed = new Map() // file ID → {off, urls}: what stops listening for its removal, and the server uploads it deletes (#keepFailed)

  constructor (uppy, opts = {}) {
    if (!isPlain(opts)) throw bad(`options must be an object, not ${describe(opts)}`)
    checkOptions(opts)
    // An option given as undefined counts as absent (its default), as everywhere else
    // in the package; tuswasm's retry given alone replaces @uppy/tus's default retryDelays.
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined))
    super(uppy, { ...defaults, ...(given.retry !== undefined && given.retryDelays === undefined ? { retryDelays: undefined } : {}), ...given })
    this.type = 'uploader'
    this.id = this.opts.id || 'TusWasm'
    this.#slots = new Slots(this.opts.limit)
  }

  install () {
    this.#setResumable(true)
    this.uppy.addUploader(this.#handleUpload)
  }

  /** Stops its uploads (they stay resumable) and leaves Uppy. */
  uninstall () {
    for (const { stop } of this.#live.values()) stop()
    for (const { off } of this.#failed.values()) off()
    this.#failed.clear()
    this.#setResumable(false)
    this.uppy.removeUploader(this.#handleUpload)
  }

  #setResumable (on) {
    this.uppy.setState({ capabilities: { ...this.uppy.getState().capabilities, resumableUploads: on } })
  }

  #handleUpload = async (fileIDs) => {
    if (fileIDs.length === 0) return
    const files = toUpload(this.uppy.getFilesByIds(fileIDs))
    this.uppy.emit('upload-start', toAnnounce(files))
    const { worker, wasmURL } = this.opts
    const ready = worker !== undefined || wasmURL !== undefined ? init({ worker, wasmURL }) : Promise.resolve()
    await Promise.allSettled(files.map((file) => ready.then(() => this.#upload(file)).catch((err) => {
      this.uppy.emit('upload-error', this.uppy.getFile(file.id) ?? file, err, err?.status ? { status: err.status, body: {} } : undefined)
    })))
  }

  // upload sends one file, as @uppy/tus does: through the queue that bounds how many
  // run at once, paused and resumed by Uppy's events. It settles when the file is done,
  // removed or cancelled, and rejects when it failed.
  #upload (file) {
    if (file.isRemote) return Promise.reject(bad('remote files (Companion) are not supported'))
    if (!(file.data instanceof Blob)) return Promise.reject(bad('the file has no data'))
    // Removed (or cancelled) before its turn, while the module loaded: not sent.
    const latest = this.uppy.getFile(file.id)
    if (!latest) return Promise.resolve()
    file = latest
    this.#live.get(file.id)?.stop()
    // Retried: this upload continues it. Its URL stays to delete should the retry fail
    // before it learns a URL (its HEAD refused) or make another upload (no storage).
    const earlier = this.#failed.get(file.id)
    earlier?.off()
    return new Promise((resolve, reject) => {
      const opts = { ...this.opts, ...(file.tus ?? {}) }
      let slot = null
      const leave = () => {
        slot?.release()
        slot = null
      }
      const offs = []
      const on = (name, fn) => {
        this.uppy.on(name, fn)
        offs.push(() => this.uppy.off(name, fn))
      }
      const end = () => {
        leave()
        for (const off of offs.splice(0)) off()
        if (this.#live.get(file.id)?.upload === upload) this.#live.delete(file.id)
      }
      const options = this.#options(file, opts, {
        onProgress: (bytesUploaded, bytesTotal) => {
          const latest = this.uppy.getFile(file.id)
          if (latest) this.uppy.emit('upload-progress', latest, { uploadStarted: latest.progress.uploadStarted ?? 0, bytesUploaded, bytesTotal })
          opts.onProgress?.(bytesUploaded, bytesTotal)
        },
        onSuccess: (payload) => {
          end()
          this.uppy.emit('upload-success', this.uppy.getFile(file.id), { uploadURL: upload.url ?? undefined, status: 200, body: {} })
          opts.onSuccess?.(payload)
          resolve()
        },
        onError: (err) => {
          end()
          this.#keepFailed(file.id, upload, earlier?.urls)
          opts.onError?.(err)
          reject(err)
        },
      })
      // A retry continues the failed upload, as @uppy/tus does (tus-js-client at its URL),
      // where its origin is trusted anyway; one the server no longer has is made anew.
      const last = earlier?.urls.at(-1)
      if (last && options.uploadUrl === undefined && trusted(options, last)) {
        Object.assign(options, { uploadUrl: last, onExpired: options.onExpired ?? 'recreate' })
      }
      const upload = new Upload(file.data, options)
      // A resumed file waits for a slot again, so that resuming does not skip the queue;
      // one that is sending or waiting its turn (resume-all reaches files nobody paused)
      // stays as it is, so that it neither runs past the limit nor loses its place.
      let sending = false
      const run = () => {
        if (sending || (slot && !slot.running)) return
        leave()
        slot = this.#slots.add(() => {
          if (this.uppy.getFile(file.id)?.isPaused) return
          sending = true
          upload.start()
        })
        this.#slots.pump()
      }
      const pause = () => {
        sending = false
        leave()
        upload.abort().catch(() => {})
      }
      // Removed or cancelled: the server's upload is deleted, as @uppy/tus does.
      const cancel = () => {
        end()
        upload.abort(true).catch((err) => this.uppy.log(err, 'warning'))
        resolve()
      }
      const mine = (f) => f?.id === file.id
      const held = () => this.uppy.getFile(file.id) !== undefined
      // Uninstalled: stopped, resumable, and a failure for Uppy (not an uploaded file), so
      // that uppy.upload() with an uploader installed again continues it.
      this.#live.set(file.id, {
        upload,
        stop: () => {
          end()
          pause()
          reject(new DOMException('tuswasm/uppy was removed while the file uploaded; uppy.upload() with an uploader continues it', 'AbortError'))
        },
      })
      on('file-removed', (f) => mine(f) && cancel())
      on('cancel-all', () => held() && cancel())
      on('upload-pause', (f, isPaused) => mine(f) && (isPaused ? pause() : run()))
      on('pause-all', () => held() && pause())
      on('resume-all', () => held() && run())
      run()
    })
  }

  // keepFailed deletes a failed file's server upload once Uppy removes the file (also
  // through cancel-all), as it does for a file in progress; until then the upload stays
  // resumable by a retry, which stops this.
  #keepFailed (id, upload, earlier = []) {
    const urls = [...new Set([...earlier, upload.url].filter(Boolean))]
    if (urls.length === 0) return
    const removed = (f) => {
      if (f?.id !== id) return
      off()
      const warn = (err) => this.uppy.log(err, 'warning')
      const own = upload.url // abort(true) forgets it
      if (own) upload.abort(true).catch(warn)
      for (const url of urls) if (url !== own) Promise.resolve().then(() => Upload.terminate(url, upload.options)).catch(warn)
    }
    const off = () => {
      this.uppy.off('file-removed', removed)
      if (this.#failed.get(id)?.off === off) this.#failed.delete(id)
    }
    this.#failed.get(id)?.off()
    this.#failed.set(id, { off, urls })
    this.uppy.on('file-removed', removed)
  }

  // options is the tus-js-client options of one file's upload.
  #options (file, opts, callbacks) {
    const { id, locale, limit, withCredentials, allowedMetaFields, worker, wasmURL, onBeforeRequest, onShouldRetry, ...rest } = opts
    const o = { ...rest, ...callbacks }
    if (typeof rest.headers === 'function') o.headers = rest.headers(file)
    if (withCredentials && rest.credentials === undefined) o.credentials = 'include'
    if (onBeforeRequest) o.onBeforeRequest = (req) => onBeforeRequest(req, file)
    // next is the default decision: undefined leaves it to tuswasm's retry rules.
    if (onShouldRetry) o.onShouldRetry = (err, attempt) => onShouldRetry(err, attempt, opts, () => undefined)
    o.metadata = this.#metadata(file, allowedMetaFields)
    // Two files of one name from different folders are two uploads: the folder path
    // stands for the name in the stored fingerprint (size and content still count).
    const path = file.meta?.relativePath
    if (typeof path === 'string' && path !== '' && o.fingerprint === undefined) {
      o.fingerprint = () => `uppy:${path}:${file.data.lastModified ?? ''}`
    }
    return o
  }

  // metadata is the file's allowed meta fields as strings, with tusd's filename and
  // filetype, as @uppy/tus sends them.
  #metadata (file, allowed) {
    const meta = {}
    const fields = allowed === true ? Object.keys(file.meta ?? {}) : Array.isArray(allowed) ? allowed : []
    for (const k of fields) {
      if (file.meta?.[k] != null) meta[k] = String(file.meta[k])
    }
    if (meta.filetype === undefined && meta.type !== undefined) meta.filetype = meta.type
    if (meta.filename === undefined && meta.name !== undefined) meta.filename = meta.name
    return meta
  }
}
