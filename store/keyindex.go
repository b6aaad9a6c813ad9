package store

import (
	"hash/maphash"
	"math/bits"
	"unsafe"
)

// keyIndex finds the position of a key among a map node's sorted keys. It
// is what a map[string]int would be, made for the comparison loop that
// looks up every key of a large map on every update: the keys live side by
// side in one block, and each slot carries a tag of the key's hash, so a
// lookup usually touches one slot and one key, both likely in cache.
type keyIndex struct {
	seed  maphash.Seed
	shift uint     // 64 - log2(len(slots))
	slots []uint64 // 0 for empty, else tag<<32 | position+1
	keys  []string // by position, each a slice of one block
}

// newKeyIndex indexes keys, which must be distinct. It keeps copies of
// them, so the caller's strings are not kept alive.
func newKeyIndex(keys []string) (*keyIndex, []string) {
	total := 0
	for _, k := range keys {
		total += len(k)
	}
	block := make([]byte, 0, total)
	own := make([]string, len(keys))
	for i, k := range keys {
		block = append(block, k...)
		own[i] = unsafe.String(unsafe.SliceData(block[len(block)-len(k):]), len(k))
	}
	// At most half full, so probes stay short.
	lg := max(bits.Len(uint(2*len(keys))), 3)
	x := &keyIndex{seed: maphash.MakeSeed(), shift: 64 - uint(lg), slots: make([]uint64, 1<<lg), keys: own}
	mask := uint64(len(x.slots) - 1)
	for i, k := range own {
		h := maphash.String(x.seed, k)
		for j := h >> x.shift; ; j = (j + 1) & mask {
			if x.slots[j] == 0 {
				x.slots[j] = h<<32 | uint64(i+1)
				break
			}
		}
	}
	return x, own
}

// find returns the position of k, or false.
func (x *keyIndex) find(k string) (int, bool) {
	if x == nil {
		return 0, false
	}
	h := maphash.String(x.seed, k)
	tag := h << 32
	mask := uint64(len(x.slots) - 1)
	for j := h >> x.shift; ; j = (j + 1) & mask {
		s := x.slots[j]
		if s == 0 {
			return 0, false
		}
		if s&^0xffffffff == tag {
			if i := int(uint32(s)) - 1; x.keys[i] == k {
				return i, true
			}
		}
	}
}
