package vfs

import (
	"io/fs"
	"math/rand/v2"
	"slices"
)

// Crash returns a new MemFS holding what a power cut at this instant could
// leave on disk. m itself is unchanged; files open on m are not carried over,
// nor is the hook (the umask and owner are). The result is a function of the
// seed and of m's history, so a failure found with one seed can be replayed.
//
// Seed 0 loses everything not synced: every file has its content as of its
// last File.Sync and every directory its entries as of its last SyncDir.
// Seed 1 keeps everything: the result looks like m.
//
// Any other seed drives a PCG generator that chooses, independently:
//   - for each directory, how many of its unsynced entry changes (creates,
//     removes, renames), in order, reached the disk: none, some or all;
//   - for each file with unsynced changes, one of four outcomes: all are
//     lost; a prefix of them is kept, of which the last, if it is a write,
//     may be torn (only its first k bytes applied); the file keeps its new
//     size but every byte an unsynced write touched reads as zero (what ext4
//     and xfs leave when the size reached the disk and the data did not);
//     or all are kept;
//   - for each file or directory whose mode or owner changed since its last
//     sync, the old or the new ones.
//
// What survives is what the chosen directory entries reach from the root: a
// file whose entry was lost is gone, and a removed file whose removal was
// lost is back with its durable content. A directory renamed between two
// directories, neither synced, can end up named in both or in none; a
// directory has one name, so where two are left the one met first in a
// depth-first walk of sorted names is kept.
//
// Every choice is made durable in the result, so crashing it again with any
// seed gives the same state.
func (m *MemFS) Crash(seed uint64) *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &crash{seed: seed, copies: map[*inode]*inode{}}
	if seed > 1 {
		// The second word only picks the stream; any constant will do.
		c.rng = rand.New(rand.NewPCG(seed, 0x64757261626c65))
	}
	n := &MemFS{nextIno: m.nextIno, umask: m.umask, uid: m.uid, gid: m.gid}
	n.root = c.copy(m.root)
	n.root.nlink = 1
	return n
}

// crash builds the state after one power cut.
type crash struct {
	seed   uint64
	rng    *rand.Rand        // nil for seeds 0 and 1
	copies map[*inode]*inode // old inode to its copy, so hard links stay shared
}

// copy returns n as the crash leaves it, with nlink still to count. Choices
// are drawn in the order the walk meets inodes, which depends only on the
// history, so a seed always gives the same state.
func (c *crash) copy(n *inode) *inode {
	if cp, ok := c.copies[n]; ok {
		return cp
	}
	cp := &inode{ino: n.ino, mtime: n.mtime, target: n.target}
	c.copies[n] = cp
	cp.mode, cp.uid, cp.gid = c.meta(n)
	cp.durMode, cp.durUID, cp.durGID = cp.mode, cp.uid, cp.gid
	switch {
	case n.isDir():
		entries := c.entries(n)
		names := make([]string, 0, len(entries))
		for name := range entries {
			names = append(names, name)
		}
		slices.Sort(names)
		cp.entries = make(map[string]*inode, len(names))
		for _, name := range names {
			child := entries[name]
			if _, seen := c.copies[child]; seen && child.isDir() {
				continue // a directory already named elsewhere, or a cycle
			}
			ccp := c.copy(child)
			ccp.nlink++
			cp.entries[name] = ccp
		}
		cp.durEntries = cloneEntries(cp.entries)
	case n.isRegular():
		cp.data = c.data(n)
		cp.durData = slices.Clone(cp.data)
	}
	return cp
}

func (c *crash) meta(n *inode) (mode fs.FileMode, uid, gid int) {
	changed := n.mode != n.durMode || n.uid != n.durUID || n.gid != n.durGID
	if c.seed == 0 || changed && c.rng != nil && c.rng.IntN(2) == 0 {
		return n.durMode, n.durUID, n.durGID
	}
	return n.mode, n.uid, n.gid
}

// entries returns the directory's entries after the crash: the durable ones
// with a prefix of the unsynced changes applied.
func (c *crash) entries(d *inode) map[string]*inode {
	switch {
	case c.seed == 0 || len(d.changes) == 0:
		return d.durEntries
	case c.seed == 1:
		return d.entries
	}
	keep := c.rng.IntN(len(d.changes) + 1)
	e := cloneEntries(d.durEntries)
	for _, ch := range d.changes[:keep] {
		ch.apply(e)
	}
	return e
}

// The outcomes for a file's unsynced data, as Crash documents them.
const (
	dataLost = iota
	dataPrefix
	dataZeroed
	dataKept
	dataOutcomes
)

// data returns the file's content after the crash; it never aliases n's.
func (c *crash) data(n *inode) []byte {
	switch {
	case c.seed == 0 || len(n.muts) == 0:
		return slices.Clone(n.durData)
	case c.seed == 1:
		return slices.Clone(n.data)
	}
	switch c.rng.IntN(dataOutcomes) {
	case dataLost:
		return slices.Clone(n.durData)
	case dataPrefix:
		keep := 1 + c.rng.IntN(len(n.muts))
		d := slices.Clone(n.durData)
		for i, mu := range n.muts[:keep] {
			if i == keep-1 && !mu.trunc {
				mu.data = mu.data[:c.rng.IntN(len(mu.data)+1)]
			}
			d = mu.apply(d)
		}
		return d
	case dataZeroed:
		d := slices.Clone(n.data)
		for _, mu := range n.muts {
			if !mu.trunc && mu.off < int64(len(d)) {
				clear(d[mu.off:min(mu.off+int64(len(mu.data)), int64(len(d)))])
			}
		}
		return d
	default:
		return slices.Clone(n.data)
	}
}

// SyncAll makes the whole visible state durable, as if every file and
// directory had been synced. Tests use it to set up a starting point that a
// crash cannot undo.
func (m *MemFS) SyncAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[*inode]bool{}
	var walk func(n *inode)
	walk = func(n *inode) {
		if seen[n] {
			return
		}
		seen[n] = true
		n.sync()
		for _, child := range n.entries {
			walk(child)
		}
	}
	walk(m.root)
}
