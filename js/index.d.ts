// Type declarations for tuswasm's ES module (index.js).

export type TusErrorCode =
  | 'PROTOCOL' | 'OFFSET_MISMATCH' | 'EXPIRED' | 'HTTP' | 'FILE_CHANGED' | 'LOCKED'
  | 'NETWORK' | 'REDIRECT' | 'CAPABILITY' | 'TOO_LARGE' | 'INVALID_OPTION' | 'INIT' | 'INTERNAL'

export declare const codes: readonly TusErrorCode[]

/** Every failure other than an abort (aborts reject with a DOMException named AbortError). */
export declare class TusError extends Error {
  readonly name: 'TusError'
  readonly code: TusErrorCode
  /** HTTP status, when the server answered with an unexpected one. */
  readonly status?: number
  /** Start of the server's error body, e.g. "ERR_UPLOAD_NOT_FOUND: upload not found". */
  readonly body?: string
}

export interface InitOptions {
  /** Where tuswasm.wasm is; defaults to next to index.js. */
  wasmURL?: string | URL
  /** Where wasm_exec.js is; defaults to next to index.js. */
  wasmExecURL?: string | URL
}

export interface RetryOptions {
  /** Consecutive failures without progress before giving up (default 5; 0 disables retries). */
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
}

/** A custom storage for upload URLs; methods may be sync or async. */
export interface UrlStorage {
  get(fingerprint: string): StoredUpload | null | Promise<StoredUpload | null>
  set(fingerprint: string, entry: StoredUpload): void | Promise<void>
  remove(fingerprint: string): void | Promise<void>
  list(): StoredUpload[] | Promise<StoredUpload[]>
}

export interface UploadOptions {
  /** Creation URL of the tus server; relative URLs resolve against the page. */
  endpoint?: string
  /** An existing upload's URL (upload(), or Upload to continue a known upload). */
  uploadUrl?: string
  metadata?: Record<string, string>
  /** Sent to the endpoint's origin (and allowedOrigins) only. */
  headers?: Record<string, string>
  /** Origins besides the endpoint's that may receive `headers` and credentials. */
  allowedOrigins?: string[]
  /**
   * fetch's credentials mode (cookies) for the endpoint's origin and allowedOrigins
   * (default 'same-origin'); every other origin always gets 'omit'.
   */
  credentials?: 'omit' | 'same-origin' | 'include'
  /**
   * Largest PATCH body (default 32 MiB). Below it the size follows the measured throughput,
   * aiming at about one request per second (fetch reports no progress inside a request),
   * starting at 512 KiB.
   */
  chunkSize?: number
  /** false: every PATCH carries exactly chunkSize bytes (default true). */
  adaptiveChunkSize?: boolean
  /** Per-request timeout; a timed-out request is retried. */
  requestTimeoutMs?: number
  checkServerCapabilities?: boolean
  /** Hold a Web Lock on the file so two tabs cannot upload it at once. */
  useFileLock?: boolean
  /** With useFileLock: wait for the other holder instead of failing with LOCKED. */
  waitForLock?: boolean
  retry?: RetryOptions
  /**
   * Where upload URLs are remembered: localStorage by default; 'memory' keeps them for
   * this page only (nothing written); false disables resumption from storage.
   */
  storage?: false | null | 'memory' | UrlStorage
  /** What to do when the upload URL answers 404/410 mid-upload. */
  onExpired?: 'error' | 'recreate'
  onCreate?: (url: string) => void
  /** Bytes the server has confirmed: monotonic, at least once per chunk, ends at total. */
  onProgress?: (sent: number, total: number) => void
  signal?: AbortSignal
}

export interface UploadResult {
  url: string
  size: number
  /** True when an upload remembered in storage was continued. */
  resumed: boolean
}

export declare function init(options?: InitOptions): Promise<void>
export declare function createAndUpload(file: Blob, options: UploadOptions): Promise<UploadResult>
export declare function create(file: Blob, options: UploadOptions): Promise<string>
export declare function upload(file: Blob, options: UploadOptions & { uploadUrl: string }): Promise<UploadResult>
export declare function terminate(uploadUrl: string, options?: UploadOptions): Promise<void>
export declare function findPreviousUploads(file: Blob, options: UploadOptions): Promise<StoredUpload[]>
export declare function listUploads(options?: UploadOptions): Promise<StoredUpload[]>
export declare function removeUpload(fingerprint: string, options?: UploadOptions): Promise<void>

export declare function stats(): { wasmMemoryBytes: number }

export declare class Upload {
  constructor(file: Blob, options: UploadOptions)
  readonly file: Blob
  /** The upload URL, once created or resumed. */
  url: string | null
  /** Settles when the upload completes, fails, or is aborted. */
  readonly done: Promise<UploadResult>
  start(): void
  pause(): Promise<void>
  resume(): void
  abort(options?: { terminate?: boolean }): Promise<void>
}
