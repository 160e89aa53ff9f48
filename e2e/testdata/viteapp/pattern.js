// pattern is the deterministic content the Go side regenerates (xorshift32, e2e's
// pattern()); test.js imports it too.
export function pattern (size, seed) {
  const buf = new Uint8Array(size)
  let x = (seed >>> 0) || 1
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    buf[i] = x & 255; buf[i + 1] = (x >>> 8) & 255; buf[i + 2] = (x >>> 16) & 255; buf[i + 3] = x >>> 24
  }
  return buf
}
