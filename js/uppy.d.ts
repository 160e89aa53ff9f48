// tuswasm's uploader plugin for Uppy 6: `uppy.use(TusWasm, { endpoint: '/files/' })`.
import type { BasePlugin, Body, Meta, PluginOpts, Uppy, UppyFile } from '@uppy/core'
import type { DetailedError, HttpRequest, UploadOptions as TusJsOptions } from './compat.js'

/**
 * @uppy/tus's options under their names, and tuswasm's own upload options (checksum,
 * parallelUploads, protocol, storage, credentials, allowedOrigins, …). Unknown or
 * mistyped options throw a TusError with code INVALID_OPTION from uppy.use().
 */
export interface TusWasmOptions<M extends Meta, B extends Body> extends PluginOpts, Omit<TusJsOptions, 'headers' | 'onBeforeRequest' | 'onShouldRetry'> {
  endpoint?: string
  /** An object, or a function of the file giving one (called once per upload). */
  headers?: Record<string, string> | ((file: UppyFile<M, B>) => Record<string, string>)
  /** How many files upload at once (default 20; 0: no limit). */
  limit?: number
  /** Infinity (the default): tuswasm's adaptive chunks; a number: chunks of exactly that size. */
  chunkSize?: number
  /** Waits before the retries (default [100, 1000, 3000, 5000]). */
  retryDelays?: number[] | null
  /** Sends cookies (credentials: 'include') to the endpoint's origin and allowedOrigins only. */
  withCredentials?: boolean
  /** Which of the file's meta fields travel as tus metadata (default true: all). */
  allowedMetaFields?: boolean | string[]
  onBeforeRequest?: (req: HttpRequest, file: UppyFile<M, B>) => void | Promise<void>
  /** next(err) is the default decision: undefined, which leaves it to tuswasm's retry rules. */
  onShouldRetry?: (err: DetailedError, retryAttempt: number, options: TusWasmOptions<M, B>, next: (err: DetailedError) => undefined) => boolean | undefined
  /** init()'s options: run the module in a Worker, or load it from elsewhere. */
  worker?: boolean
  wasmURL?: string | URL
}

export default class TusWasm<M extends Meta, B extends Body> extends BasePlugin<TusWasmOptions<M, B>, M, B> {
  static VERSION: string
  constructor(uppy: Uppy<M, B>, opts?: TusWasmOptions<M, B>)
  install(): void
  uninstall(): void
}
