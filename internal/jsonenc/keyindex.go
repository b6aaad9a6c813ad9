package jsonenc

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
// It also knows an order in which Go walks the map (see walker): Go
// iterates an unchanged map in nearly the same order every time, only
// starting elsewhere, so the next key of a walk is usually the one that
// followed the previous key in that order. Checking that guess is one
// string comparison, of the very string the map held (so the bytes are not
// even read), against a list read front to back; a lookup is a hash and
// two scattered reads. A wrong guess costs the comparison and falls back to
// the lookup: the order of Go's maps is never relied on for the result.
// The order is taken from a walk when there is none yet, or when the last
// walk had to look up many keys (the map was rebuilt).
type keyIndex struct {
	seed  maphash.Seed
	shift uint     // 64 - log2(len(slots))
	slots []uint64 // 0 for empty, else tag<<32 | position+1
	keys  []string // by position, each a slice of one block

	order  []int32  // place -> position, in walk order; empty if unknown
	okeys  []string // place -> the string the map held for that key
	at     []int32  // position -> place, -1 if none
	misses int      // lookups of the last walk
	rec    []int32  // the order being recorded, if this walk records one
	reck   []string
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
	x      *keyIndex
	w      int // the place of the key found before, -1 if none
	record bool
}

func (x *keyIndex) walk() walker {
	if x == nil {
		return walker{w: -1}
	}
	wk := walker{x: x, w: -1, record: len(x.order) == 0 || x.misses > len(x.keys)/8}
	if wk.record {
		x.rec, x.reck = x.rec[:0], x.reck[:0]
	}
	x.misses = 0
	return wk
}

// find is keyIndex.find for the next key of the walk. It also returns the
// key's place in the order, -1 if the order has none.
func (wk *walker) find(k string) (i, place int, ok bool) {
	x := wk.x
	if x == nil {
		return 0, -1, false
	}
	if w := wk.w + 1; wk.w >= 0 {
		if w == len(x.order) {
			w = 0 // a walk that started elsewhere wraps around
		}
		if g := x.okeys[w]; unsafe.StringData(g) == unsafe.StringData(k) && len(g) == len(k) {
			i, place, ok = int(x.order[w]), w, true
		} else if g == k {
			// Assigning to a string key of a Go map stores the caller's
			// string: keep that one, so that the next walk finds the
			// very same string again rather than comparing its bytes.
			x.okeys[w] = k
			i, place, ok = int(x.order[w]), w, true
		}
	}
	if !ok {
		x.misses++
		if i, ok = x.find(k); !ok {
			wk.w = -1
			return 0, -1, false
		}
		if place = int(x.at[i]); place >= 0 {
			x.okeys[place] = k // as above
		}
	}
	wk.w = place
	if wk.record {
		x.rec = append(x.rec, int32(i))
		x.reck = append(x.reck, k)
	}
	return i, place, true
}

// done ends a walk that found every key; it reports whether the walk
// changed the order (and with it every place).
func (wk *walker) done() bool {
	x := wk.x
	if x == nil || !wk.record || len(x.rec) != len(x.keys) {
		return false
	}
	x.order, x.rec = x.rec, x.order[:0]
	x.okeys, x.reck = x.reck, x.okeys[:0]
	clear(x.reck) // do not keep strings the map may drop
	for w, i := range x.order {
		x.at[i] = int32(w)
	}
	x.misses = 0
	return true
}
