import * as tus from '/js/index.js'

const endpoint = '/files/'
const $ = (sel) => document.querySelector(sel)
const inWorker = new URLSearchParams(location.search).has('worker')

// The library stores no file names (a name can be personal); this page remembers them
// itself, by upload URL, to show them in the list of resumable uploads.
const names = {
  key: 'tuswasm-demo:names',
  all () { try { return JSON.parse(localStorage.getItem(this.key)) ?? {} } catch { return {} } },
  set (url, name) { localStorage.setItem(this.key, JSON.stringify({ ...this.all(), [url]: name })) },
  forget (url) { const all = this.all(); delete all[url]; localStorage.setItem(this.key, JSON.stringify(all)) },
}
const running = new Set() // upload URLs of this page's uploads in progress

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
function bytes (n) {
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`
}

function el (tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props)
  e.append(...children)
  return e
}

function describe (err) {
  if (err?.name === 'AbortError') return 'Cancelled'
  const hints = {
    NETWORK: 'the server cannot be reached; it will resume when you try again',
    EXPIRED: 'the server no longer has this upload',
    FILE_CHANGED: 'the file changed on disk; pick it again',
    LOCKED: 'this file is being uploaded in another tab',
    TOO_LARGE: 'the server does not accept files this large',
  }
  return `Error (${err?.code ?? err?.name}): ${hints[err?.code] ?? err?.message}`
}

function addUpload (file) {
  const bar = el('progress', { max: file.size || 1, value: 0 })
  const meta = el('span', { className: 'meta' }, `0 B / ${bytes(file.size)}`)
  const state = el('span', { className: 'state' }, 'Starting…')
  const pauseBtn = el('button', { type: 'button' }, 'Pause')
  const cancelBtn = el('button', { type: 'button' }, 'Cancel')
  const li = el('li', {},
    el('div', { className: 'row' }, el('span', { className: 'name', title: file.name }, file.name), meta),
    bar,
    el('div', { className: 'row' }, el('span', { className: 'actions' }, pauseBtn, cancelBtn), state))
  $('#uploads').prepend(li)

  let last = { t: performance.now(), sent: 0 }
  let rate = 0
  const up = new tus.Upload(file, {
    endpoint,
    metadata: { filename: file.name, filetype: file.type || 'application/octet-stream' },
    onUploadUrlAvailable: (url) => {
      state.textContent = 'Uploading…'
      names.set(url, file.name)
      running.add(url)
      refreshResumable()
    },
    onProgress: (sent, total) => {
      const now = performance.now()
      const dt = (now - last.t) / 1000
      if (dt > 0 && sent > last.sent) rate = rate ? 0.7 * rate + 0.3 * (sent - last.sent) / dt : (sent - last.sent) / dt
      last = { t: now, sent }
      bar.max = total || 1
      bar.value = total ? sent : 1
      meta.textContent = `${bytes(sent)} / ${bytes(total)}${rate ? ` · ${bytes(rate)}/s` : ''}`
    },
  })
  let paused = false
  pauseBtn.onclick = async () => {
    pauseBtn.disabled = true
    if (paused) {
      paused = false
      pauseBtn.textContent = 'Pause'
      state.textContent = 'Uploading…'
      last = { t: performance.now(), sent: Number(bar.value) }
      up.resume()
    } else {
      await up.pause()
      paused = true
      pauseBtn.textContent = 'Resume'
      state.textContent = 'Paused'
    }
    pauseBtn.disabled = false
  }
  cancelBtn.onclick = () => up.abort({ terminate: true }).catch(() => {})
  up.done.then((result) => {
    names.forget(result.url)
    state.className = 'state done'
    state.replaceChildren(result.resumed ? 'Done (resumed) · ' : 'Done · ', el('a', { href: result.url, target: '_blank' }, 'stored'))
    bar.value = bar.max
  }, (err) => {
    state.className = 'state error'
    state.textContent = describe(err)
  }).finally(() => {
    pauseBtn.disabled = cancelBtn.disabled = true
    running.delete(up.url)
    if (up.url && !list.has(up.url)) names.forget(up.url)
    refreshResumable()
  })
  up.start()
  refreshResumable()
}

// list: the upload URLs storage keeps, as of the last refresh.
const list = new Set()

async function refreshResumable () {
  const stored = (await tus.listUploads()).filter((u) => !running.has(u.url))
  list.clear()
  for (const u of stored) list.add(u.url)
  const known = names.all()
  $('#resumable-section').hidden = stored.length === 0
  $('#resumable').replaceChildren(...stored.map((u) => {
    const forget = el('button', { type: 'button' }, 'Forget')
    forget.onclick = async () => { await tus.removeUpload(u.fingerprint); names.forget(u.url); refreshResumable() }
    return el('li', {}, el('div', { className: 'row' },
      el('span', { className: 'name', title: u.url }, known[u.url] ?? 'a file whose name this page did not keep'),
      el('span', { className: 'meta' }, `${bytes(u.size)} · started ${new Date(u.createdAt).toLocaleString()}`)),
    el('div', { className: 'actions' }, forget))
  }))
}

const drop = $('#drop')
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over') })
drop.addEventListener('dragleave', () => drop.classList.remove('over'))
drop.addEventListener('drop', (e) => {
  e.preventDefault()
  drop.classList.remove('over')
  for (const f of e.dataTransfer.files) addUpload(f)
})
$('#picker').addEventListener('change', (e) => {
  for (const f of e.target.files) addUpload(f)
  e.target.value = ''
})

$('#worker').checked = inWorker
$('#worker').addEventListener('change', (e) => { location.search = e.target.checked ? '?worker' : '' })

try {
  const t0 = performance.now()
  await tus.init({ worker: inWorker })
  $('#status').textContent = `Ready (tuswasm loaded in ${Math.round(performance.now() - t0)} ms${inWorker ? ', in a Web Worker' : ''}).`
  window.tuswasmDemoReady = true
  refreshResumable()
} catch (err) {
  $('#status').textContent = `tuswasm failed to load: ${err.message}`
}
