// Where upload URLs are remembered for resuming. Every adapter has the same four
// methods (get, set, remove, list), may be async, and never fails an upload: a storage
// that is missing (workers have no localStorage, privacy modes throw) or full behaves
// as an empty one. Entries are {fingerprint, url, size, createdAt, …} (see
// index.d.ts's StoredUpload): never headers, credentials or metadata. What an entry
// holds is checked where it is read (wasm/storage.go), which forgets one of no use.

const prefix = 'tuswasm::'

function webStorage () {
  try {
    return globalThis.localStorage ?? null // throws SecurityError in some sandboxes
  } catch {
    return null
  }
}

/** localStorage, under keys `tuswasm::<fingerprint>`, entries as JSON. */
export const localStore = {
  get (fp) {
    const ls = webStorage()
    const text = ls?.getItem(prefix + fp)
    if (text == null) return null
    try {
      return JSON.parse(text)
    } catch {
      ls.removeItem(prefix + fp) // not even JSON: forget it
      return null
    }
  },
  set (fp, entry) {
    // A QuotaExceededError goes to the engine, which goes on without storage and says so.
    webStorage()?.setItem(prefix + fp, JSON.stringify(entry))
  },
  remove (fp) {
    webStorage()?.removeItem(prefix + fp)
  },
  list () {
    const ls = webStorage()
    if (!ls) return []
    const keys = []
    for (let i = 0; i < ls.length; i++) {
      const k = ls.key(i)
      if (k?.startsWith(prefix)) keys.push(k.slice(prefix.length))
    }
    return keys.map((fp) => this.get(fp)).filter(Boolean)
  },
}

// One IndexedDB database per realm: "tuswasm", object store "uploads" keyed by
// fingerprint. A database that cannot be opened behaves as an empty storage.
let db = null

function openDB () {
  if (!db) {
    db = new Promise((resolve) => {
      try {
        const req = globalThis.indexedDB.open('tuswasm', 1)
        req.onupgradeneeded = () => req.result.createObjectStore('uploads', { keyPath: 'fingerprint' })
        req.onsuccess = () => resolve(req.result)
        req.onerror = () => resolve(null)
        req.onblocked = () => resolve(null)
      } catch {
        resolve(null)
      }
    })
  }
  return db
}

// idb runs one request in a transaction: reads that fail find nothing; writes that
// fail reject, so the engine knows the entry was not kept.
async function idb (mode, op) {
  const d = await openDB()
  if (!d) {
    if (mode === 'readwrite') throw new Error('IndexedDB cannot be opened')
    return undefined
  }
  return new Promise((resolve, reject) => {
    const tx = d.transaction('uploads', mode)
    const req = op(tx.objectStore('uploads'))
    tx.oncomplete = () => resolve(req.result)
    tx.onerror = tx.onabort = () => mode === 'readwrite' ? reject(tx.error ?? new Error('IndexedDB write failed')) : resolve(undefined)
  })
}

/** IndexedDB (database "tuswasm", store "uploads"): the default where there is no localStorage. */
export const indexedDBStore = {
  async get (fp) {
    return (await idb('readonly', (s) => s.get(fp))) ?? null
  },
  async set (fp, entry) {
    await idb('readwrite', (s) => s.put({ ...entry, fingerprint: fp }))
  },
  async remove (fp) {
    await idb('readwrite', (s) => s.delete(fp))
  },
  async list () {
    return (await idb('readonly', (s) => s.getAll())) ?? []
  },
}

// memory: this realm's Map, for storage: 'memory' (pause and resume, nothing written).
const memory = new Map()
export const memoryStore = {
  get: (fp) => memory.get(fp) ?? null,
  set: (fp, entry) => void memory.set(fp, entry),
  remove: (fp) => void memory.delete(fp),
  list: () => [...memory.values()],
}

/**
 * What 'default' means where a runtime decides it: node.js (the Node entry) sets
 * memoryStore, so that a Node process resumes within its life as a page does, whatever
 * web storage that Node version may have. Browsers leave it null.
 */
export const runtimeDefault = { store: null }

/**
 * The adapter for a storage kind: 'default' is localStorage where there is one,
 * otherwise IndexedDB where there is one (workers), otherwise none (null).
 */
export function storageFor (kind) {
  switch (kind) {
    case 'memory': return memoryStore
    case 'indexeddb': return globalThis.indexedDB ? indexedDBStore : null
    case 'default':
      if (runtimeDefault.store) return runtimeDefault.store
      if (webStorage()) return localStore
      return globalThis.indexedDB ? indexedDBStore : null
  }
  return null
}
