import * as tus from '/js/index.js'

const endpoint = '/files/'
const $ = (sel) => document.querySelector(sel)

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
    onCreate: () => { state.textContent = 'Uploading…' },
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
  cancelBtn.onclick = () => up.abort({ terminate: true })
  up.done.then((result) => {
    state.className = 'state done'
    state.replaceChildren(result.resumed ? 'Done (resumed) · ' : 'Done · ', el('a', { href: result.url, target: '_blank' }, 'stored'))
    bar.value = bar.max
  }, (err) => {
    state.className = 'state error'
    state.textContent = describe(err)
  }).finally(() => {
    pauseBtn.disabled = cancelBtn.disabled = true
    refreshResumable()
  })
  up.start()
  refreshResumable()
}

async function refreshResumable () {
  const list = await tus.listUploads()
  $('#resumable-section').hidden = list.length === 0
  $('#resumable').replaceChildren(...list.map((u) => {
    const forget = el('button', { type: 'button' }, 'Forget')
    forget.onclick = async () => { await tus.removeUpload(u.fingerprint); refreshResumable() }
    return el('li', {}, el('div', { className: 'row' },
      el('span', { className: 'name' }, u.url),
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

try {
  const t0 = performance.now()
  await tus.init()
  $('#status').textContent = `Ready (tuswasm loaded in ${Math.round(performance.now() - t0)} ms).`
  window.tuswasmDemoReady = true
  refreshResumable()
} catch (err) {
  $('#status').textContent = `tuswasm failed to load: ${err.message}`
}
