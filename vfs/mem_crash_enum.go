package vfs

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// CrashStates enumerates the states a power cut at this instant could
// leave, as CrashMonkey and B3 do for small workloads, instead of sampling
// them as Crash does. It calls fn with each distinct state in turn (the
// same choices Crash makes under m's model, taken every way: every subset
// or prefix of the directory changes, every outcome of every file's data,
// every pattern of old and new blocks; a torn write is cut at each block
// boundary within it and one byte short of its end, or at every byte when
// it is short) until fn returns false
// or limit distinct states were produced. It returns the number produced
// and whether that was every state; when it was not, the states seen are
// the first ones in a fixed order, and a test should sample with Crash
// instead.
//
// The first state is the one Crash(0) gives (everything unsynced lost).
// Each state is an independent MemFS, as Crash returns.
func (m *MemFS) CrashStates(limit int, fn func(*MemFS) bool) (n int, all bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if limit <= 0 {
		return 0, false
	}
	e := &enumChooser{}
	seen := map[[32]byte]bool{}
	// Choice paths that lead to a state already seen cost time but no
	// state; bound them too, so that a huge space of equal states ends.
	for paths := 0; paths < 32*limit; paths++ {
		e.start()
		s := m.crashWith(&crash{seed: 2, model: m.model, pick: e})
		if key := s.fingerprint(); !seen[key] {
			seen[key] = true
			if n == limit {
				return n, false
			}
			n++
			if !fn(s) {
				return n, !e.next()
			}
		}
		if !e.next() {
			return n, true
		}
	}
	return n, false
}

// enumChooser walks the tree of choices depth first: each run replays the
// choices of the previous one up to the last that can still change, takes
// its next option, and then the first option of every choice after it.
type enumChooser struct {
	path []int // the option taken at each choice of this run
	opts []int // how many options each had
	pos  int
}

func (e *enumChooser) start() { e.pos = 0 }

func (e *enumChooser) choose(n int) int {
	if n <= 1 {
		return 0
	}
	if e.pos < len(e.path) {
		v := e.path[e.pos]
		e.pos++
		return v
	}
	e.path = append(e.path, 0)
	e.opts = append(e.opts, n)
	e.pos++
	return 0
}

// cut tears a short write (up to smallTear bytes) at every byte, and a
// longer one at the start, at each 512-byte boundary, one byte short of
// the end and at the end: where a sector-granular device tears, and where
// a reader most needs to notice the missing last byte.
func (e *enumChooser) cut(n int) int {
	if n <= smallTear {
		return e.choose(n + 1)
	}
	cuts := []int{0}
	for b := 512; b < n; b += 512 {
		cuts = append(cuts, b)
	}
	if n > 1 {
		cuts = append(cuts, n-1)
	}
	cuts = append(cuts, n)
	cuts = slices.Compact(cuts)
	return cuts[e.choose(len(cuts))]
}

const smallTear = 16

// garbage is a fixed pattern: the enumeration has one garbage state per
// choice, not one per byte value.
func (e *enumChooser) garbage(p []byte) {
	for i := range p {
		p[i] = byte(0xa5 ^ i*7)
	}
}

// next moves to the next path; it returns false when every path was taken.
func (e *enumChooser) next() bool {
	e.path, e.opts = e.path[:e.pos], e.opts[:e.pos]
	for i := len(e.path) - 1; i >= 0; i-- {
		if e.path[i]+1 < e.opts[i] {
			e.path[i]++
			e.path, e.opts = e.path[:i+1], e.opts[:i+1]
			return true
		}
	}
	return false
}

// fingerprint identifies the visible state: names, types, modes, owners,
// link targets and contents.
func (m *MemFS) fingerprint() [32]byte {
	h := sha256.New()
	var num [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(num[:], v)
		h.Write(num[:])
	}
	seen := map[*inode]uint64{}
	var walk func(n *inode)
	walk = func(n *inode) {
		if id, ok := seen[n]; ok {
			put(id) // a hard link: the same inode again
			return
		}
		seen[n] = uint64(len(seen)) + 1
		put(uint64(n.mode))
		put(uint64(n.uid))
		put(uint64(n.gid))
		put(uint64(n.mtime.UnixNano()))
		put(uint64(len(n.target)))
		h.Write([]byte(n.target))
		put(uint64(len(n.data)))
		h.Write(n.data)
		names := make([]string, 0, len(n.entries))
		for name := range n.entries {
			names = append(names, name)
		}
		slices.Sort(names)
		put(uint64(len(names)))
		for _, name := range names {
			put(uint64(len(name)))
			h.Write([]byte(name))
			walk(n.entries[name])
		}
	}
	walk(m.root)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
