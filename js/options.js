// The options of every function, in one table, checked once on the caller's side
// before anything crosses into the worker or Go (as esbuild's common.ts does): an
// unknown key (with the nearest known one), a key another function does not take, a
// wrong type. A key whose value is undefined counts as absent. wasm/options.go applies
// the same keys; a test holds the two tables, and index.d.ts, to the same sets.
import { TusError } from './errors.js'

// Which functions take a key: bits, combined below.
const CREATE_AND_UPLOAD = 1
const CREATE = 2
const UPLOAD = 4
const TERMINATE = 8
const FIND = 16
const LIST = 32
const REMOVE = 64
const UPLOAD_CLASS = 128 // new Upload(file, options): createAndUpload's keys and uploadUrl

const scopes = {
  createAndUpload: CREATE_AND_UPLOAD,
  create: CREATE,
  upload: UPLOAD,
  terminate: TERMINATE,
  findPreviousUploads: FIND,
  listUploads: LIST,
  removeUpload: REMOVE,
  Upload: UPLOAD_CLASS,
}

const CREATING = CREATE_AND_UPLOAD | CREATE | UPLOAD | UPLOAD_CLASS // a file is sent or created
const SENDING = CREATE_AND_UPLOAD | UPLOAD | UPLOAD_CLASS // bytes are sent
const REQUESTS = CREATING | TERMINATE // anything that talks to a server
const STORING = REQUESTS | FIND | LIST | REMOVE // anything that reads storage

const isString = (v) => typeof v === 'string'
const isURL = (v) => (isString(v) && v.trim() !== '') || v instanceof URL // '' would be the page
const isBoolean = (v) => typeof v === 'boolean'
const isFunction = (v) => typeof v === 'function'
const isNumber = (v) => typeof v === 'number' && Number.isFinite(v)
const isPositive = (v) => isNumber(v) && v >= 1
const isNonNegative = (v) => isNumber(v) && v >= 0
const isCount = (v) => isPositive(v) && Number.isInteger(v)
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v)
const oneOf = (...values) => (v) => values.includes(v)
const either = (...tests) => (v) => tests.some((t) => t(v) === true)

// A plain object of string values: a Headers, Map or other iterable is refused (its
// entries are no own keys: it would read as empty, and a worker's copy loses them).
function stringMap (key) {
  return (v) => {
    if (!isObject(v)) return `an object of strings, not ${describe(v)}`
    if (Symbol.iterator in v) return `a plain object of strings, not a ${v.constructor?.name ?? 'iterable'} (Object.fromEntries(…) makes one)`
    for (const [k, x] of Object.entries(v)) {
      if (!isString(x)) return `an object of strings, but ${key}.${k} is ${describe(x)}`
    }
    return true
  }
}

const retryKeys = ['maxRetries', 'initialDelayMs', 'maxDelayMs', 'factor']

function retry (v) {
  if (!isObject(v)) return `an object {${retryKeys.join(', ')}}, not ${describe(v)}`
  for (const [k, x] of Object.entries(v)) {
    if (!retryKeys.includes(k)) return { unknown: `retry.${k}` }
    if (x !== undefined && !isNonNegative(x)) return { key: `retry.${k}`, want: `a non-negative number, not ${describe(x)}` }
  }
  return true
}

function boundaries (v) {
  if (!Array.isArray(v)) return `an array of {start, end}, not ${describe(v)}`
  for (const [i, b] of v.entries()) {
    if (!isObject(b) || !isNumber(b.start) || !isNumber(b.end)) return `an array of {start, end} byte offsets, but item ${i} is not`
  }
  return true
}

function strings (v) {
  return Array.isArray(v) && v.every(isString) ? true : `an array of origin strings, not ${describe(v)}`
}

function storage (v) {
  if (v === undefined || v === null || isBoolean(v) || v === 'memory' || v === 'indexeddb') return true
  if (!isObject(v)) return `false, null, 'memory', 'indexeddb' or an object with get, set, remove and list, not ${describe(v)}`
  const missing = ['get', 'set', 'remove', 'list'].find((m) => !isFunction(v[m]))
  return missing ? `an object with get, set, remove and list methods, but it has no ${missing} method` : true
}

// key → [what it must be (for messages), the functions that take it, its test]. A test
// returns true, or a message of its own.
export const table = {
  endpoint: ['a non-empty URL (string or URL)', REQUESTS | FIND, isURL],
  protocol: ["'tus-v1' or 'ietf-draft-05'", REQUESTS, oneOf('tus-v1', 'ietf-draft-05')],
  uploadUrl: ['a non-empty URL (string or URL)', UPLOAD | UPLOAD_CLASS, isURL],
  metadata: ['an object of strings', CREATING, stringMap('metadata')],
  headers: ['an object of strings or a function', REQUESTS, either(isFunction, stringMap('headers'))],
  allowedOrigins: ['an array of origin strings', REQUESTS, strings],
  credentials: ["'omit', 'same-origin' or 'include'", REQUESTS, oneOf('omit', 'same-origin', 'include')],
  chunkSize: ['a positive number of bytes', SENDING, isPositive],
  adaptiveChunkSize: ['a boolean', SENDING, isBoolean],
  uploadDataDuringCreation: ['a boolean', SENDING, isBoolean],
  uploadSize: ['a non-negative whole number of bytes', CREATING, (v) => isNonNegative(v) && Number.isInteger(v)],
  parallelUploads: ['a positive integer', CREATE_AND_UPLOAD | UPLOAD_CLASS, isCount],
  parallelUploadBoundaries: ['an array of {start, end}', CREATE_AND_UPLOAD | UPLOAD_CLASS, boundaries],
  checksum: ["'sha1', 'sha256', 'sha384' or 'sha512'", SENDING, oneOf('sha1', 'sha256', 'sha384', 'sha512')],
  requestTimeoutMs: ['a number of milliseconds (0: the derived default)', REQUESTS, isNonNegative],
  checkServerCapabilities: ['a boolean', CREATING, isBoolean],
  useFileLock: ['a boolean', CREATING, isBoolean],
  waitForLock: ['a boolean', CREATING, isBoolean],
  retry: ['an object {maxRetries, initialDelayMs, maxDelayMs, factor}', REQUESTS, retry],
  retryDelays: ['an array of milliseconds (each non-negative), or null for no retry', REQUESTS, (v) => v === null || (Array.isArray(v) && v.length <= 1000 && v.every(isNonNegative))],
  fingerprint: ['a function (file, options) returning a string (or a Promise of one)', CREATING | FIND, isFunction],
  storage: ["false, null, 'memory', 'indexeddb' or an object with get, set, remove and list", STORING, storage],
  onExpired: ["'error' or 'recreate'", SENDING, oneOf('error', 'recreate')],
  onCreate: ['a function', CREATING, isFunction],
  onUploadUrlAvailable: ['a function', CREATING, isFunction],
  onProgress: ['a function', SENDING, isFunction],
  onBeforeRequest: ['a function', REQUESTS, isFunction],
  onAfterResponse: ['a function', REQUESTS, isFunction],
  onShouldRetry: ['a function', REQUESTS, isFunction],
  storageMaxAgeMs: ['a number of milliseconds (Infinity: no limit)', STORING, (v) => isNonNegative(v) || v === Infinity],
  signal: ['an AbortSignal', STORING, (v) => v instanceof AbortSignal],
}

/** The keys each function takes (for the test against index.d.ts). */
export function keysOf (fn) {
  return Object.keys(table).filter((k) => table[k][1] & scopes[fn])
}

const bad = (message) => new TusError('INVALID_OPTION', `tus: invalid option: ${message}`)

/**
 * Checks fn's options (undefined, null or a plain object): it returns a TusError with
 * code INVALID_OPTION for the first problem, or null.
 */
export function check (fn, options) {
  if (options === undefined || options === null) return null
  if (!isObject(options)) return bad(`options must be an object, not ${describe(options)}`)
  for (const [key, value] of Object.entries(options)) {
    const row = table[key]
    if (!row) return bad(`unknown option "${key}"${suggest(key)}`)
    if (!(row[1] & scopes[fn])) return bad(`${fn} does not take the option "${key}"`)
    if (value === undefined) continue
    const ok = row[2](value)
    if (ok === true) continue
    if (ok?.unknown) return bad(`unknown option ${ok.unknown}${suggest(ok.unknown.slice(6))}`)
    if (ok?.key) return bad(`option ${ok.key} must be ${ok.want}`)
    return bad(`option ${key} must be ${typeof ok === 'string' ? ok : `${row[0]}, not ${describe(value)}`}`)
  }
  if (options.waitForLock && !options.useFileLock) return bad('waitForLock needs useFileLock: true')
  if (options.retry !== undefined && options.retryDelays !== undefined) return bad('retry and retryDelays are two ways to say the same: give one')
  return null
}

// describe names a value's kind for a message.
export function describe (v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v) // NaN, Infinity
  const t = typeof v
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`
}

// suggest names the known key nearest to a mistyped one, if any is near.
function suggest (key) {
  let best = ''
  let bestD = 3
  const candidates = [...Object.keys(table), ...retryKeys.map((k) => `retry.${k}`)]
  for (const c of candidates) {
    const d = distance(key.toLowerCase(), c.replace(/^retry\./, '').toLowerCase())
    if (d < bestD) [best, bestD] = [c, d]
  }
  return best ? ` (did you mean "${best}"?)` : ''
}

// distance is the Levenshtein distance between a and b.
function distance (a, b) {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]
}

// trusted reports whether url is on an origin the options trust already (the
// endpoint's, the uploadUrl's, allowedOrigins'; relative URLs against the page), so
// that continuing an upload there as uploadUrl extends trust to no new origin.
export function trusted (options, url) {
  const origin = (u) => {
    try {
      return (typeof u === 'string' || u instanceof URL) ? new URL(String(u), globalThis.location?.href).origin : null
    } catch {
      return null
    }
  }
  const at = origin(url)
  const mine = [options?.endpoint, options?.uploadUrl, ...(Array.isArray(options?.allowedOrigins) ? options.allowedOrigins : [])]
  return at !== null && at !== 'null' && mine.some((u) => origin(u) === at)
}
