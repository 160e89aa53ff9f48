// tus-js-client's call shape over tuswasm: `import * as tus from 'tuswasm/compat'`.
import type { TusError, UploadSource } from './index.js'

export { TusError as DetailedError } from './index.js'

/** tus-js-client's HttpRequest, as onBeforeRequest and onAfterResponse get it. */
export interface HttpRequest {
  getMethod(): string
  getURL(): string
  setHeader(header: string, value: string): void
  getHeader(header: string): string | undefined
  /** tuswasm's request: {method, url, headers}. */
  getUnderlyingObject(): unknown
}

/** tus-js-client's HttpResponse. */
export interface HttpResponse {
  getStatus(): number
  getHeader(header: string): string | undefined
  /** The start of the body (at most 512 bytes) for error statuses; '' otherwise. */
  getBody(): string
  getUnderlyingObject(): unknown
}

export interface PreviousUpload {
  size: number | null
  metadata: Record<string, string>
  creationTime: string
  urlStorageKey: string
  uploadUrl: string | null
  parallelUploadUrls: string[] | null
}

/**
 * tus-js-client 4's options. httpStack, fileReader, urlStorage, overridePatchMethod and
 * metadataForPartialUploads are refused (INVALID_OPTION, through onError); tuswasm's own
 * options (checksum, storage, credentials, allowedOrigins, useFileLock, …) may be added.
 */
export interface UploadOptions {
  endpoint?: string | null
  uploadUrl?: string | null
  metadata?: Record<string, string>
  fingerprint?: (file: UploadSource, options: UploadOptions) => string | null | Promise<string | null>
  uploadSize?: number | null
  onProgress?: ((bytesSent: number, bytesTotal: number) => void) | null
  onChunkComplete?: ((chunkSize: number, bytesAccepted: number, bytesTotal: number) => void) | null
  /** lastResponse is null: tuswasm keeps no reply object. */
  onSuccess?: ((payload: { lastResponse: null }) => void) | null
  onError?: ((error: TusError & { originalRequest: null, originalResponse: HttpResponse | null, causingError: unknown }) => void) | null
  onUploadUrlAvailable?: (() => void) | null
  onShouldRetry?: ((err: TusError, retryAttempt: number, options: UploadOptions) => boolean) | null
  onBeforeRequest?: (req: HttpRequest) => void | Promise<void>
  onAfterResponse?: (req: HttpRequest, res: HttpResponse) => void | Promise<void>
  headers?: Record<string, string>
  addRequestId?: boolean
  /** Infinity (the default): tuswasm's adaptive chunks; a number: chunks of exactly that size. */
  chunkSize?: number
  retryDelays?: number[] | null
  parallelUploads?: number
  parallelUploadBoundaries?: { start: number, end: number }[] | null
  storeFingerprintForResuming?: boolean
  /** Ignored: tuswasm always forgets a completed upload. */
  removeFingerprintOnSuccess?: boolean
  uploadLengthDeferred?: boolean
  uploadDataDuringCreation?: boolean
  protocol?: 'tus-v1' | 'ietf-draft-05'
  [tuswasmOption: string]: unknown
}

export declare const defaultOptions: Readonly<Partial<UploadOptions>>
export declare const isSupported: boolean
export declare const canStoreURLs: boolean
export declare function enableDebugLog(): void

export declare class Upload {
  constructor(file: UploadSource, options: UploadOptions)
  file: UploadSource
  options: UploadOptions
  url: string | null
  start(): void
  /** Stops sending (a stream's upload ends and lets go of the stream; start() continues it at url). */
  abort(shouldTerminate?: boolean): Promise<void>
  findPreviousUploads(): Promise<PreviousUpload[]>
  resumeFromPreviousUpload(previousUpload: PreviousUpload | { uploadUrl: string }): void
  static terminate(url: string, options?: UploadOptions): Promise<void>
}
