// Loads tuswasm.wasm and starts the Go program (for host.js, in a worker or on the
// page), and gives it its host: the functions the Go side calls (fetch, streams,
// digests, Web Locks, storage).
import './wasm_exec.js' // defines globalThis.Go; a static import so bundlers include it

/**
 * What a runtime without some web API gives in its place. Browsers use none of them;
 * node.js (the package's Node entry) sets them, so that no Node-only import sits in
 * code a bundler takes for the browser. load(url) returns the module's bytes for a URL
 * fetch cannot read (file:), or null; locks stands in for navigator.locks; prepare(go)
 * sees the Go instance before it starts; busy() is called as each call into the
 * module starts and returns what to call when it ends (host.js); send replaces send
 * below (same arguments, same answer); streamBody(bytes) makes a stream section's
 * request body from a view of StreamSource's buffer (else a Blob copy); wholeFiles
 * says that a Blob is never read past its size (see wholeFiles below).
 */
export const fallbacks = { load: null, locks: null, prepare: null, busy: null, send: null, streamBody: null, wholeFiles: false }

// wholeFiles: whether a Blob sent whole may go as itself rather than as a slice of it
// (a slice costs Chromium's main thread ~1 ms, most of a small file's cost). Only where
// a File is known to be read no further than the size it had when picked: Firefox
// reads one that grew on disk to its new end, past the Content-Length, and the extra
// bytes reach the server as a request of their own; a slice is bounded. Chromium
// refuses a changed file, and so does Node. Chromium is told by its own
// navigator.userAgentData, a native getter giving a NavigatorUAData: a page's shim or
// polyfill of it (Firefox's webcompat interventions define one; a bound getter also
// prints as native code, but not with the getter's name) must not pass. A page that also
// replaces Function.prototype.toString still can: no check from inside it rules that out.
function wholeFiles () {
  if (fallbacks.wholeFiles) return true
  const nav = globalThis.navigator
  if (!nav || typeof NavigatorUAData !== 'function' || Object.getOwnPropertyDescriptor(nav, 'userAgentData')) return false
  const get = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(nav), 'userAgentData')?.get
  return typeof get === 'function' && /^function get userAgentData\(\) \{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(get)) &&
    get.call(nav) instanceof NavigatorUAData
}

/**
 * Instantiates the module (a URL string, its bytes or a compiled WebAssembly.Module)
 * and starts it. makeError turns a rejection
 * object into what the caller's hooks see (a TusError on the page); storage(kind)
 * gives the storage adapter for 'default', 'indexeddb' or 'memory'. exited resolves
 * (to a message) if the Go program ever ends: its pending Promises never settle then.
 * @returns {Promise<{api: object, memory: WebAssembly.Memory, exited: Promise<string>}>}
 */
export async function start (wasm, { makeError, storage }) {
  const go = new globalThis.Go()
  fallbacks.prepare?.(go)
  const { instance } = await instantiate(wasm, go.importObject)
  // What the Go program holds in JavaScript ends with it: its requests are aborted and
  // its Web Locks released, since the program that would have done so is gone.
  let died
  const exited = new Promise((resolve) => { died = resolve })
  // What this program holds in a StreamSource (see hold): let go when it ends.
  const program = { dead: false }
  const dying = new AbortController()
  const host = {
    send: (url, method, headers, body, credentials, signal) => {
      // The signal AbortSignal.any makes is held here until its request settles: its
      // sources keep only a weak reference to it, and WebKitGTK 2.50 can collect it
      // while fetch still waits on it, after which an abort never reaches the request
      // (seen with a File changed on disk, whose body WebKit never sends: the request
      // then stayed pending for good).
      const any = AbortSignal.any([signal, dying.signal])
      const p = (fallbacks.send ?? send)(url, method, headers, body, credentials, any)
      inFlight.add(any)
      p.then(() => inFlight.delete(any), () => inFlight.delete(any))
      return p
    },
    lock: (name, wait, signal) => lock(name, wait, signal, exited),
    error: makeError,
    stream: streamSource,
    holder: () => ({ program }),
    digest,
    storage,
    wholeFiles: wholeFiles(),
  }
  globalThis.__tuswasm = { host }
  go.run(instance).then(() => 'the Go program exited', (err) => `the Go program failed: ${err?.message ?? err}`).then((why) => {
    program.dead = true
    dying.abort()
    died(why)
  })
  const api = globalThis.__tuswasm?.host ? null : globalThis.__tuswasm
  delete globalThis.__tuswasm
  if (!api) throw new Error('the Go program did not start')
  return { api, memory: instance.exports.mem, exited }
}

// The abort signals of the requests in flight (see host.send in start).
const inFlight = new Set()

async function instantiate (source, imports) {
  if (source instanceof WebAssembly.Module) return { instance: await WebAssembly.instantiate(source, imports) }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.instantiate(source, imports)
  const url = String(source)
  const bytes = await fallbacks.load?.(url)
  if (bytes) return WebAssembly.instantiate(bytes, imports)
  const response = await fetch(url)
  if (!response.ok) throw new Error(`${url} answered ${response.status}`)
  if (WebAssembly.instantiateStreaming && response.headers.get('Content-Type')?.startsWith('application/wasm')) {
    return WebAssembly.instantiateStreaming(response, imports)
  }
  // Served without the application/wasm MIME type: slower, but it works.
  return WebAssembly.instantiate(await response.arrayBuffer(), imports)
}

// send is the Go side's fetch: one call out and one Promise back per request, where
// building the Headers and init objects and reading the reply from Go would cost dozens
// of Go<->JS crossings. Header lists travel as "name\nvalue\n..." (neither may hold a
// newline). It resolves to [status, type, headers, body stream or null]; the body only
// for error statuses, the one case the engine reads it (a success body is cancelled).
function send (url, method, headers, body, credentials, signal) {
  const h = new Headers()
  if (headers) {
    const kv = headers.split('\n')
    for (let i = 0; i + 1 < kv.length; i += 2) h.append(kv[i], kv[i + 1])
  }
  return fetch(url, { method, headers: h, body, credentials, signal, redirect: 'manual' }).then((r) => {
    let out = ''
    for (const [k, v] of r.headers) out += k + '\n' + v + '\n'
    if (r.status < 400) {
      r.body?.cancel().catch(() => {})
      return [r.status, r.type, out, null]
    }
    return [r.status, r.type, out, r.body]
  })
}

// lock takes the exclusive Web Lock name for the Go side (useFileLock): it resolves to
// the function that releases it, or to null when another holder has it and wait is
// false; signal aborts the wait. The lock goes too when the Go program ends. Without
// navigator.locks (an insecure context) or a fallback (Node's), it rejects with a
// NotSupportedError, which the Go side reports as INVALID_OPTION.
function lock (name, wait, signal, exited) {
  return new Promise((resolve, reject) => {
    const locks = globalThis.navigator?.locks ?? fallbacks.locks
    if (!locks) throw new DOMException('useFileLock needs the Web Locks API (navigator.locks), which this context lacks', 'NotSupportedError')
    const options = wait ? { mode: 'exclusive', signal } : { mode: 'exclusive', ifAvailable: true }
    locks.request(name, options, (held) => {
      if (!held) return resolve(null)
      return new Promise((release) => {
        resolve(release)
        exited.then(release)
      })
    }).catch(reject) // aborted before the grant
  })
}

// A ReadableStream's bytes, read once: StreamSource keeps those not yet confirmed by
// the server (about a chunk) in one reusable buffer, filled in place by a BYOB reader
// where the stream is a byte stream (Blob.stream(), fetch bodies), so that reading
// leaves no garbage behind and memory stays about one chunk; the bytes never enter
// wasm memory. Each request gets a Blob copied from the buffer (no browser here streams
// a request body over HTTP/1.1). One StreamSource per stream, so a pause and resume
// continue it.
const sources = new WeakMap()

function streamSource (stream) {
  let s = sources.get(stream)
  if (!s) sources.set(stream, (s = new StreamSource(stream)))
  return s
}

const MiB = 1 << 20

class StreamSource {
  #reader
  #byob = false
  #buf = new Uint8Array(0) // bytes #start to #end of the stream, from #buf[0]
  #start = 0
  #end = 0
  #done = false
  // Every use of the buffer runs in turn on this chain. A call that was paused while it
  // waited for the stream leaves its read pending (a read cannot be taken back); the
  // next call's section runs only once that read has landed in the buffer, and a
  // release never moves bytes (or touches a buffer a BYOB read has detached) under it.
  #turn = Promise.resolve()
  // The upload that reads the stream (a holder from host.holder): a stream feeds one
  // upload at a time, since a second would take bytes the first still needs.
  #holder = null

  constructor (stream) {
    try {
      this.#reader = stream.getReader({ mode: 'byob' })
      this.#byob = true
    } catch {
      this.#reader = stream.getReader() // not a byte stream; throws when another reader holds it
    }
  }

  #inTurn (fn) {
    const run = this.#turn.then(fn)
    this.#turn = run.catch(() => {})
    return run
  }

  // hold makes holder the stream's reader until letGo(holder): false while another
  // holds it, unless the program that took it has ended (it can no longer let go).
  hold (holder) {
    if (this.#holder && this.#holder !== holder && !this.#holder.program.dead) return false
    this.#holder = holder
    return true
  }

  letGo (holder) {
    if (this.#holder === holder) this.#holder = null
  }

  // reserve makes room for cap bytes (rounded up to a MiB, never shrinking).
  #reserve (cap) {
    if (this.#buf.byteLength >= cap) return
    const b = new Uint8Array(Math.ceil(cap / MiB) * MiB)
    b.set(this.#buf.subarray(0, this.#end - this.#start))
    this.#buf = b
  }

  async #fill (upto) {
    while (!this.#done && this.#end < upto) {
      const used = this.#end - this.#start
      if (this.#byob) {
        const { value, done } = await this.#reader.read(new Uint8Array(this.#buf.buffer, used, this.#buf.byteLength - used))
        if (value) {
          // The read moved the buffer into a new ArrayBuffer. V8 counts each as new
          // memory, which prompts the collections that free the Blobs made of earlier
          // sections: Chromium frees a Blob only when V8 collects it, and unprompted they
          // pile up until the blob storage refuses new ones (docs/performance.md).
          this.#buf = new Uint8Array(value.buffer)
          this.#end += value.byteLength
        }
        this.#done = done
        continue
      }
      const { value, done } = await this.#reader.read()
      if (done) {
        this.#done = true
      } else if (!(value instanceof Uint8Array)) {
        throw new TypeError(`the stream gave ${Object.prototype.toString.call(value)}, not Uint8Array chunks`)
      } else {
        this.#reserve(used + value.byteLength)
        this.#buf.set(value, used)
        this.#end += value.byteLength
      }
    }
  }

  // section resolves to [blob, got, end]: up to n bytes from off, and whether the
  // stream ends right after them (it reads a byte ahead to know).
  section (off, n) {
    return this.#inTurn(async () => {
      if (off < this.#start || off > this.#end) {
        throw new RangeError(`the stream no longer holds bytes from ${off} (it keeps ${this.#start}-${this.#end})`)
      }
      this.#reserve(off + n + 1 - this.#start)
      await this.#fill(off + n + 1)
      const got = Math.min(n, this.#end - off)
      const from = off - this.#start
      const bytes = this.#buf.subarray(from, from + got)
      return [fallbacks.streamBody?.(bytes) ?? new Blob([bytes]), got, this.#done && off + got === this.#end]
    })
  }

  // release lets go of the bytes before off: the server confirmed them.
  release (off) {
    this.#inTurn(() => {
      const drop = Math.min(off, this.#end) - this.#start
      if (drop > 0) {
        this.#buf.copyWithin(0, drop, this.#end - this.#start)
        this.#start += drop
      }
    })
  }
}

const digestNames = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' }

// digest hashes a Blob with SubtleCrypto; null where there is none (not a secure
// context), and the Go side hashes the bytes itself.
async function digest (blob, algorithm) {
  if (!globalThis.crypto?.subtle) return null
  const data = blob instanceof Blob ? await blob.arrayBuffer() : blob // a stream's section in Node (streamBody)
  return new Uint8Array(await crypto.subtle.digest(digestNames[algorithm], data))
}
