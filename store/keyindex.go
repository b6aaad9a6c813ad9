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
//
// It also remembers the order of the last walk of the map (see walker): Go
// iterates an unchanged map in nearly the same order every time, only
// starting elsewhere, so the next key of a walk is usually the one that
// followed the previous key last time. Checking that guess is one string
// comparison, of the very string the map held last time (so the bytes are
// not even read), against a list read front to back; a lookup is a hash and
// two scattered reads. A wrong guess costs the comparison and falls back to
// the lookup: the order of Go's maps is never relied on for the result.
type keyIndex struct {
	seed  maphash.Seed
	shift uint     // 64 - log2(len(slots))
	slots []uint64 // 0 for empty, else tag<<32 | position+1
	keys  []string // by position, each a slice of one block

	last, cur walkOrder // the last walk, and the one being recorded
	at        []int32   // position -> its place in last, -1 if absent
}

// walkOrder is the sequence in which one walk found the keys: their
// positions, and the strings the map held for them.
type walkOrder struct {
	pos  []int32
	keys []string
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
	x := &keyIndex{seed: maphash.MakeSeed(), shift: 64 - uint(lg), slots: make([]uint64, 1<<lg), keys: own, at: make([]int32, len(own))}
	for i := range x.at {
		x.at[i] = -1
	}
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

// walker looks up the keys of one walk of the map, in the order the walk
// finds them.
type walker struct {
	x *keyIndex
	w int // the place in x.last of the key found before, -1 if none
}

func (x *keyIndex) walk() walker {
	if x != nil {
		x.cur.pos, x.cur.keys = x.cur.pos[:0], x.cur.keys[:0]
	}
	return walker{x: x, w: -1}
}

// find is keyIndex.find for the next key of the walk.
func (wk *walker) find(k string) (int, bool) {
	x := wk.x
	if x == nil {
		return 0, false
	}
	i, ok := -1, false
	if w := wk.w + 1; wk.w >= 0 && len(x.last.pos) > 0 {
		if w == len(x.last.pos) {
			w = 0 // a walk that started elsewhere wraps around
		}
		if x.last.keys[w] == k {
			i, ok, wk.w = int(x.last.pos[w]), true, w
		}
	}
	if !ok {
		if i, ok = x.find(k); !ok {
			wk.w = -1
			return 0, false
		}
		wk.w = int(x.at[i])
	}
	x.cur.pos = append(x.cur.pos, int32(i))
	x.cur.keys = append(x.cur.keys, k)
	return i, true
}

// done keeps the order of a finished walk for the next one.
func (wk *walker) done() {
	x := wk.x
	if x == nil {
		return
	}
	for _, i := range x.last.pos {
		x.at[i] = -1
	}
	clear(x.last.keys) // do not keep strings the map may drop
	x.last, x.cur = x.cur, x.last
	for w, i := range x.last.pos {
		x.at[i] = int32(w)
	}
}
