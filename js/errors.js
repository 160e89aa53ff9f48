// The errors the API rejects with: TusError with a stable code, or an AbortError
// DOMException for an abort (a pause).

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

export const aborted = () => new DOMException('The upload was aborted', 'AbortError')

/**
 * convert turns what the module rejects with (a plain object {code, message, status,
 * body, cause}) into what the caller sees: a TusError, or an AbortError for ABORTED.
 * Anything else (already an Error) passes as it is.
 */
export function convert (err) {
  if (err && err.code === 'ABORTED') return new DOMException(err.message || 'The upload was aborted', 'AbortError')
  if (err && typeof err.code === 'string' && !(err instanceof Error)) {
    return new TusError(err.code, err.message, { status: err.status, body: err.body, cause: err.cause })
  }
  return err
}
