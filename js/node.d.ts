// tuswasm for Node.js ('tuswasm' under Node's "node" export condition, or 'tuswasm/node'):
// the browser API, plus fileStorage.
import type { InitOptions, UrlStorage } from './index.js'

export * from './index.js'

/**
 * As in the browser; wasmURL may also be a file path (relative to the working
 * directory), and defaults to tuswasm.wasm next to this file, read from disk.
 * worker: true is INVALID_OPTION (Node has no Web Worker).
 */
export declare function init(options?: InitOptions): Promise<void>

/**
 * A storage for upload URLs in one JSON file (created with mode 0600, replaced
 * atomically on each change), so that a new process resumes what an earlier one left:
 * `storage: fileStorage('.tuswasm-uploads.json')`. Throws a TusError INVALID_OPTION
 * when path is not a non-empty string or a file: URL.
 */
export declare function fileStorage(path: string | URL): UrlStorage
