// Type declarations for tuswasm's ES module (index.js).

/** The stable codes of a TusError (engine.Codes(), plus INIT from the loader). */
export type TusErrorCode =
  | 'NETWORK' | 'HTTP' | 'EXPIRED' | 'OFFSET_MISMATCH' | 'PROTOCOL' | 'REDIRECT' | 'FILE_CHANGED'
  | 'LOCKED' | 'CAPABILITY' | 'TOO_LARGE' | 'INVALID_OPTION' | 'HOOK' | 'INTERNAL' | 'INIT'

export declare const codes: readonly TusErrorCode[]

/** Every failure other than an abort (aborts reject with a DOMException named AbortError). */
export declare class TusError extends Error {
  readonly name: 'TusError'
  readonly code: TusErrorCode
  /** HTTP status, when the server answered with an unexpected one. */
  readonly status?: number
  /** Start of the server's error body, e.g. "ERR_UPLOAD_NOT_FOUND: upload not found". */
  readonly body?: string
  /** With code HOOK: what your function threw. */
  readonly cause?: unknown
}

export interface InitOptions {
  /**
   * Where tuswasm.wasm is; defaults to next to index.js (bundlers copy it and rewrite the
   * URL). Also the module itself: its bytes, or a WebAssembly.Module compiled already.
   * In Node.js (tuswasm's node entry) a string that is not an http(s), file, data or
   * blob URL is a file path, relative to the working directory.
   */
  wasmURL?: string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module
  /**
   * Run the Go module in a dedicated Worker: the API on the page is the same, and uploads
   * keep going while the page's main thread is busy. Callbacks, storage and AbortSignals
   * stay on the page. INVALID_OPTION where there is no Web Worker (Node.js).
   */
  worker?: boolean
}

export interface RetryOptions {
  /**
   * Failed attempts in a row without meaningful progress before giving up (default 5;
   * 0 disables retries). Progress is meaningful when the server confirms 64 KiB (or
   * the rest of the file) past the highest offset it had confirmed.
   */
  maxRetries?: number
  initialDelayMs?: number
  maxDelayMs?: number
  factor?: number
}

/** What storage keeps: no headers, credentials or metadata, only these fields. */
export interface StoredUpload {
  fingerprint: string
  url: string
  size: number
  createdAt: string
  /** When the server said it discards the upload (Upload-Expires); entries past it are dropped. */
  expiresAt?: string
  /** When a call last sent to the upload; an entry's age (storageMaxAgeMs) counts from it. */
  usedAt?: string
  /** While a call sends the upload it keeps this ahead of now: the entry is not pruned before it. */
  activeUntil?: string
  /** How far calls have offered bytes to the upload: a later offset up to it is the file's own. */
  offered?: number
  /** A parallel upload's parts (url is '' until they are joined), each with its own `offered`. */
  parts?: { start: number, end: number, url: string, offered?: number }[]
}

/**
 * A custom storage for upload URLs; methods may be sync or async. Its failures never fail
 * an upload; listUploads and removeUpload report them as HOOK. A method that has not
 * answered within 10 s counts as failed, and the call goes on without storage.
 */
export interface UrlStorage {
  get(fingerprint: string): StoredUpload | null | Promise<StoredUpload | null>
  set(fingerprint: string, entry: StoredUpload): void | Promise<void>
  remove(fingerprint: string): void | Promise<void>
  list(): StoredUpload[] | Promise<StoredUpload[]>
}

/** A request as onBeforeRequest and onAfterResponse see it. */
export interface HttpRequest {
  readonly method: string
  readonly url: string
  /** One entry per header; onBeforeRequest may add, change or delete entries. */
  headers: Record<string, string>
}

/** A reply as onAfterResponse sees it. */
export interface HttpResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** The start of the body (at most 512 bytes) for error statuses; '' otherwise. */
  readonly body: string
}

/** Options of every call that reads storage. */
export interface StorageOptions {
  /**
   * Where upload URLs are remembered: localStorage by default (IndexedDB where there is
   * none, as in workers); 'indexeddb' asks for IndexedDB; 'memory' keeps them for this
   * page only (nothing written); false disables resumption from storage.
   */
  storage?: boolean | null | 'memory' | 'indexeddb' | UrlStorage
  /**
   * Entries that no call created or continued for this long are dropped (default a week;
   * Infinity keeps them until they complete or expire): by listUploads, and by uploads
   * that store their file, which prune the built-in storages at most every 10 minutes
   * (or this age, when shorter) unless the last prune used a longer age, and your own
   * storage object each time.
   */
  storageMaxAgeMs?: number
  /** Aborts the call; an upload stays resumable. */
  signal?: AbortSignal
}

/** A fingerprint option: called with the file and the options it was given. */
export type Fingerprint = (file: Blob, options: object) => string | null | undefined | Promise<string | null | undefined>

/** Options of findPreviousUploads: the endpoint and fingerprint the upload would use. */
export interface FindOptions extends StorageOptions {
  endpoint: string | URL
  fingerprint?: Fingerprint
}

/** Options of every call that talks to a tus server. */
export interface CommonOptions extends StorageOptions {
  /** Creation URL of the tus server; relative URLs resolve against the page. */
  endpoint?: string | URL
  /**
   * Wire protocol: 'tus-v1' (default, tus 1.0.0) or 'ietf-draft-05' (the IETF
   * "Resumable Uploads for HTTP" draft -05, interop version 6; tusd needs
   * -enable-experimental-protocol). The draft has no parallel uploads or checksums, and
   * sends only metadata.filename (Content-Disposition) and metadata.filetype
   * (Content-Type): other options fail with INVALID_OPTION.
   */
  protocol?: 'tus-v1' | 'ietf-draft-05'
  /**
   * Sent to the endpoint's origin (and allowedOrigins, and the origin of an uploadUrl
   * you pass) only. A function (sync or async) is called before every such request.
   */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>)
  /** Origins besides the endpoint's that may receive `headers`, credentials and the hooks. */
  allowedOrigins?: string[]
  /**
   * fetch's credentials mode (cookies) for the endpoint's origin and allowedOrigins
   * (default 'same-origin'); every other origin always gets 'omit'.
   */
  credentials?: 'omit' | 'same-origin' | 'include'
  /**
   * Per-request timeout; a timed-out request is retried. Without it each request still
   * has a deadline: at least 30 s, and for a body several times what the measured
   * throughput needs (64 KiB/s assumed before any measurement), so a server that never
   * answers cannot hold an upload.
   */
  requestTimeoutMs?: number
  retry?: RetryOptions
  /**
   * tus-js-client's retry option, instead of retry: the waits before the retries in
   * turn, in milliseconds (null or []: no retry). No jitter; a server's Retry-After
   * still lengthens a wait. As with retry, the count starts again after progress.
   */
  retryDelays?: number[] | null
  /**
   * Called before each request to a trusted origin; may change req.headers. Like every
   * hook, it has 10 s to answer; a throw, a rejection or no answer ends the call (HOOK).
   */
  onBeforeRequest?: (req: HttpRequest) => void | Promise<void>
  /** Called after each reply from a trusted origin. */
  onAfterResponse?: (req: HttpRequest, res: HttpResponse) => void | Promise<void>
  /**
   * Replaces the retry decision for HTTP and network failures of requests to trusted
   * origins: return true to retry, false to stop, nothing for the default. attempt counts
   * from 1; maxRetries still bounds the call. A throw, a rejection or no answer within
   * 10 s ends the call with HOOK.
   */
  onShouldRetry?: (err: TusError, attempt: number) => boolean | void | Promise<boolean | void>
}

/**
 * What an upload sends: a Blob or File (resumable after a reload, remembered in
 * storage), or a ReadableStream of Uint8Array chunks (read once: pause and resume work
 * in the same page, nothing is stored, and it cannot be read again after completion;
 * it feeds one upload at a time: another upload given it while one has it, running
 * or paused, fails INVALID_OPTION).
 */
export type UploadSource = Blob | ReadableStream<Uint8Array>

/** Options of the calls that create an upload or send a file. */
export interface CreateOptions extends CommonOptions {
  metadata?: Record<string, string>
  /**
   * A stream's length, when known up front; otherwise the upload is created with
   * Upload-Defer-Length (the server needs creation-defer-length) and the length is
   * declared with the last PATCH. For a Blob it must equal blob.size.
   */
  uploadSize?: number
  checkServerCapabilities?: boolean
  /** Hold a Web Lock on the file so two tabs cannot upload it at once (not a file sent whole in one request, up to 512 KiB). */
  useFileLock?: boolean
  /** With useFileLock: wait for the other holder instead of failing with LOCKED. */
  waitForLock?: boolean
  /**
   * Names the file in storage instead of its name and date (tus-js-client's option):
   * the same string, size, sampled content and endpoint resume the same upload; null
   * keeps the upload out of storage. Bounded like a hook (10 s, HOOK).
   */
  fingerprint?: Fingerprint
  /** A new upload's URL, before any of its bytes are sent. */
  onCreate?: (url: string) => void
  /**
   * The URL of the upload the call sends to: after creating it, and after the first
   * HEAD when resuming one (from storage or uploadUrl). When a call has to start over
   * with a new upload, it reports the new URL before progress starts again from 0.
   */
  onUploadUrlAvailable?: (url: string) => void
}

/** Options of createAndUpload, upload and the Upload class. */
export interface UploadOptions extends CreateOptions {
  /**
   * Largest PATCH body (default 128 MiB; 32 MiB for a stream, held in memory). Below it the size follows the measured throughput,
   * aiming at about one request per second (fetch reports no progress inside a request),
   * starting at 512 KiB. A 413 reply halves it for the rest of the upload.
   */
  chunkSize?: number
  /** false: every PATCH carries exactly chunkSize bytes (default true). */
  adaptiveChunkSize?: boolean
  /**
   * The first chunk travels in the creation POST (creation-with-upload): one round trip
   * less. Default true (tus-js-client: false); skipped when OPTIONS shows a server
   * without the extension or a checksum is set, and a server or proxy that refuses the
   * bytes gets the POST again without them.
   */
  uploadDataDuringCreation?: boolean
  /**
   * Each PATCH carries Upload-Checksum over its bytes (SubtleCrypto); the server must
   * list the algorithm (OPTIONS is sent first). A 460 reply re-sends the chunk.
   */
  checksum?: 'sha1' | 'sha256' | 'sha384' | 'sha512'
  /** What to do when the upload URL answers 404/410 mid-upload. */
  onExpired?: 'error' | 'recreate'
  /**
   * Bytes the server has confirmed of the current upload: monotonic, at least once per
   * chunk, ends at total. It goes back only after onUploadUrlAvailable announced a new
   * upload that replaces an expired one. total is null while a stream's length is not
   * known.
   */
  onProgress?: (sent: number, total: number | null) => void
}

/** Options of createAndUpload and the Upload class for parallel uploads. */
export interface ParallelOptions {
  /**
   * Send a Blob or File as this many parts at once (the concatenation extension), each
   * resumable on its own, joined at the end; a server without concatenation gets one
   * upload (result.parts says which ran). Not for streams (INVALID_OPTION). At most 64.
   */
  parallelUploads?: number
  /** The parts' byte ranges [start, end), in order, covering the file (instead of even parts); at most 64. */
  parallelUploadBoundaries?: { start: number, end: number }[]
}

/** Options of upload(): an existing upload's URL is required. */
export interface ExistingUploadOptions extends UploadOptions {
  uploadUrl: string | URL
}

/** Options of the Upload class: an uploadUrl continues a known upload. */
export interface UploadClassOptions extends UploadOptions, ParallelOptions {
  uploadUrl?: string | URL
}

export interface UploadResult {
  url: string
  size: number
  /** True when an upload remembered in storage was continued. */
  resumed: boolean
  /** When the server will discard the upload (Upload-Expires), if it said. */
  expiresAt?: string
  /**
   * True when storage refused to keep the upload (a full localStorage): it went on
   * without, so an interruption would not have been resumable after a reload.
   */
  storageFailed?: true
  /** How many partial uploads the file went in (1: a single upload). */
  parts: number
}

export declare function init(options?: InitOptions): Promise<void>
export declare function createAndUpload(file: UploadSource, options: UploadOptions & ParallelOptions): Promise<UploadResult>
export declare function create(file: UploadSource, options: CreateOptions): Promise<string>
export declare function upload(file: UploadSource, options: ExistingUploadOptions): Promise<UploadResult>
export declare function terminate(uploadUrl: string | URL, options?: CommonOptions): Promise<void>
export declare function findPreviousUploads(file: Blob, options: FindOptions): Promise<StoredUpload[]>
export declare function listUploads(options?: StorageOptions): Promise<StoredUpload[]>
export declare function removeUpload(fingerprint: string, options?: StorageOptions): Promise<void>

/** The wasm memory's size and the Go side's goroutines: live on the page; in worker mode, as of the last call that ended. */
export declare function stats(): { wasmMemoryBytes: number, goroutines: number }

export declare class Upload {
  constructor(file: UploadSource, options: UploadClassOptions)
  readonly file: UploadSource
  readonly options: UploadClassOptions
  /** The upload URL (absolute), once created or resumed; the uploadUrl option until then. */
  readonly url: string | null
  /** Settles when the upload completes, fails, or is aborted. */
  readonly done: Promise<UploadResult>
  start(): void
  pause(): Promise<void>
  /** Continues after pause(), also right after a pause() that was not awaited. */
  resume(): void
  abort(options?: { terminate?: boolean }): Promise<void>
}
