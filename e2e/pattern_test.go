package e2e

import "github.com/tuswasm/tuswasm/internal/tusdtest"

// pattern regenerates test.js's pattern(size, seed): the bytes the page uploads.
func pattern(size int, seed uint32) []byte {
	b := make([]byte, size+3)
	x := seed
	if x == 0 {
		x = 1
	}
	for i := 0; i < size; i += 4 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i], b[i+1], b[i+2], b[i+3] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
	}
	return b[:size]
}

var sum = tusdtest.Sum
