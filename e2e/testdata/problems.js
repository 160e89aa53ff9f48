// Collects what a console would show and no WebDriver protocol reports alike: uncaught
// errors, unhandled rejections, console.error, and a Go program's crash (wasm_exec.js
// prints Go's output with console.log). The cross-browser smoke reads window.problems.
window.problems = []
window.addEventListener('error', (e) => window.problems.push('uncaught: ' + e.message))
window.addEventListener('unhandledrejection', (e) => window.problems.push('unhandled rejection: ' + String(e.reason?.stack ?? e.reason)))
for (const level of ['error', 'log']) {
  const original = console[level]
  console[level] = (...args) => {
    const text = args.map(String).join(' ')
    if (level === 'error' || /panic:|fatal error:|Go program has already exited/.test(text)) {
      window.problems.push(`console.${level}: ${text}`)
    }
    original.apply(console, args)
  }
}
