// Package faultdice gives the sandboxes' fault injection its dice: a number
// decided by (seed, key, n) alone, so a chaos run with the same seed makes the
// same choices whatever order requests arrive in.
package faultdice

import (
	"encoding/binary"
	"hash/fnv"
)

// Unit maps (seed, key, n) to a number in [0, 1).
func Unit(seed int64, key string, n int) float64 {
	h := fnv.New64a()
	var buf [16]byte
	binary.LittleEndian.PutUint64(buf[:8], uint64(seed))
	binary.LittleEndian.PutUint64(buf[8:], uint64(n))
	_, _ = h.Write(buf[:])
	_, _ = h.Write([]byte(key))
	x := h.Sum64()
	// splitmix64's finaliser: FNV alone mixes its high bits poorly for near-identical keys.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}
