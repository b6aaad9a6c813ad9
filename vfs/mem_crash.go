package vfs

import (
	"io/fs"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// DirOrder is a directory-ordering profile: which of the directory changes
// made since the last sync (creates, removes, renames) a crash may keep.
type DirOrder uint8

const (
	// DirsPOSIX keeps any subset of the unsynced changes, in any
	// directory, independently: POSIX promises no order, and btrfs's log
	// tree does not give ext4's. A rename within one directory stays one
	// change; a rename between directories is two (the old name may go,
	// the new one come, both or neither). It is the default.
	DirsPOSIX DirOrder = iota
	// DirsOrdered keeps one in-order prefix of the unsynced changes of all
	// directories together, as filesystems that journal metadata in one
	// global order do (ext4, xfs, APFS, NTFS): a later change never
	// survives an earlier one it followed, and a rename between
	// directories is kept whole or not at all.
	DirsOrdered
)

// String returns the profile's name: "POSIX" or "ordered".
func (o DirOrder) String() string {
	switch o {
	case DirsPOSIX:
		return "POSIX"
	case DirsOrdered:
		return "ordered"
	}
	return "DirOrder(" + strconv.Itoa(int(o)) + ")"
}

// DirOrders lists the profiles, for tests that run under each.
func DirOrders() []DirOrder { return []DirOrder{DirsOrdered, DirsPOSIX} }

// CrashModel says what Crash and CrashStates may leave beyond the lost,
// kept, torn and zeroed outcomes they always consider.
type CrashModel struct {
	// Dirs is the directory-ordering profile (DirsPOSIX when zero).
	Dirs DirOrder
	// Garbage lets a block of unsynced data hold arbitrary bytes where a
	// write touched it, as a device that tears a sector mid-write leaves:
	// for code whose format carries checksums. Bytes no write touched are
	// never garbage.
	Garbage bool
}

// SetCrashModel sets the model that Crash and CrashStates use on m and on
// the states they return.
func (m *MemFS) SetCrashModel(cm CrashModel) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.model = cm
}

// Model returns the crash model set on m.
func (m *MemFS) Model() CrashModel {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.model
}

// Crash returns a new MemFS holding what a power cut at this instant could
// leave on disk. m itself is unchanged; files open on m are not carried over,
// nor is the hook (the umask, owner and crash model are). The result is a
// function of the seed and of m's history, so a failure found with one seed
// can be replayed.
//
// Seed 0 loses everything not synced: every file has its content as of its
// last File.Sync and every directory its entries as of its last SyncDir.
// Seed 1 keeps everything: the result looks like m.
//
// Any other seed drives a PCG generator that chooses, independently:
//   - which unsynced directory changes (creates, removes, renames) reached
//     the disk, as the model's DirOrder allows: any subset (DirsPOSIX) or
//     one prefix of all of them in the order they were made (DirsOrdered);
//   - for each file with unsynced changes, one of these outcomes: all are
//     lost; a prefix of them is kept, of which the last, if it is a write,
//     may be torn (only its first k bytes applied); the file keeps its new
//     size but every byte an unsynced write touched reads as zero (what ext4
//     and xfs leave when the size reached the disk and the data did not);
//     all are kept; or block by block: with 512-byte or 4 KiB blocks, each
//     block that the changes touched is independently old or new (a later
//     block kept, an earlier one lost, as out-of-order writeback leaves),
//     or with CrashModel.Garbage garbage where a write touched it, and the
//     size is the old one, the new one or any size the file had in
//     between (bytes past the old size in an old block read as zero);
//   - for each file or directory whose mode or owner changed since its
//     last File.Sync (Datasync does not cover them), the old or the new
//     ones, and its modification time with them.
//
// What survives is what the chosen directory entries reach from the root: a
// file whose entry was lost is gone, and a removed file whose removal was
// lost is back with its durable content. A directory renamed between two
// directories, neither synced, can end up named in both or in none; a
// directory has one name, so where two are left the one met first in a
// depth-first walk of sorted names is kept.
//
// Every choice is made durable in the result, so crashing it again with any
// seed gives the same state. CrashStates enumerates the states instead of
// sampling them.
func (m *MemFS) Crash(seed uint64) *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &crash{seed: seed, model: m.model}
	if seed > 1 {
		// The second word only picks the stream; any constant will do.
		c.pick = randomChooser{rand.New(rand.NewPCG(seed, 0x64757261626c65))}
	}
	return m.crashWith(c)
}

// crashWith builds one crashed state; m.mu is held.
func (m *MemFS) crashWith(c *crash) *MemFS {
	c.copies = map[*inode]*inode{}
	c.keepSeq = nil
	if c.pick != nil && c.model.Dirs == DirsOrdered {
		seqs := unsyncedSeqs(m.root)
		if cut := c.pick.choose(len(seqs) + 1); cut < len(seqs) {
			c.keepSeq = &seqs[cut] // changes numbered from here on are lost
		}
	}
	n := &MemFS{nextIno: m.nextIno, umask: m.umask, uid: m.uid, gid: m.gid, model: m.model, seq: m.seq}
	n.root = c.copy(m.root)
	n.root.nlink = 1
	return n
}

// chooser makes the crash's choices: at random (Crash) or every way in turn
// (CrashStates).
type chooser interface {
	// choose returns a number in [0, n); n >= 1.
	choose(n int) int
	// cut returns how many of n bytes a torn write kept, in [0, n].
	cut(n int) int
	// garbage fills p with arbitrary bytes.
	garbage(p []byte)
}

type randomChooser struct{ rng *rand.Rand }

func (r randomChooser) choose(n int) int { return r.rng.IntN(n) }
func (r randomChooser) cut(n int) int    { return r.rng.IntN(n + 1) }
func (r randomChooser) garbage(p []byte) {
	for i := range p {
		p[i] = byte(r.rng.Uint32())
	}
}

// crash builds the state after one power cut.
type crash struct {
	seed    uint64
	model   CrashModel
	pick    chooser           // nil for seeds 0 and 1
	copies  map[*inode]*inode // old inode to its copy, so hard links stay shared
	keepSeq *uint64           // DirsOrdered: the first change lost; nil keeps all
}

// copy returns n as the crash leaves it, with nlink still to count. Choices
// are drawn in the order the walk meets inodes, which depends only on the
// history, so a seed always gives the same state.
func (c *crash) copy(n *inode) *inode {
	if cp, ok := c.copies[n]; ok {
		return cp
	}
	cp := &inode{ino: n.ino, target: n.target}
	c.copies[n] = cp
	cp.mode, cp.uid, cp.gid, cp.mtime = c.meta(n)
	cp.durMode, cp.durUID, cp.durGID, cp.durMtime = cp.mode, cp.uid, cp.gid, cp.mtime
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

// meta returns the mode, owner and time after the crash. A time that
// changed alone is not worth a choice of its own (it would double the
// states of every written file for what no package reads back); it reverts
// with the mode and owner, and under seed 0.
func (c *crash) meta(n *inode) (mode fs.FileMode, uid, gid int, mtime time.Time) {
	changed := n.mode != n.durMode || n.uid != n.durUID || n.gid != n.durGID
	if c.seed == 0 || changed && c.pick != nil && c.pick.choose(2) == 0 {
		return n.durMode, n.durUID, n.durGID, n.durMtime
	}
	return n.mode, n.uid, n.gid, n.mtime
}

// entries returns the directory's entries after the crash: the durable ones
// with the unsynced changes the profile lets survive applied in order.
func (c *crash) entries(d *inode) map[string]*inode {
	switch {
	case c.seed == 0 || len(d.changes) == 0:
		return d.durEntries
	case c.pick == nil:
		return d.entries
	}
	e := cloneEntries(d.durEntries)
	for _, ch := range d.changes {
		var keep bool
		if c.model.Dirs == DirsOrdered {
			keep = c.keepSeq == nil || ch.seq < *c.keepSeq
		} else {
			keep = c.pick.choose(2) == 1
		}
		if keep {
			ch.apply(e)
		}
	}
	return e
}

// unsyncedSeqs returns the numbers of every unsynced directory change in
// the tree, sorted and without repeats. Directories that only a lost
// change would bring back are included: a crash may bring them back.
func unsyncedSeqs(root *inode) []uint64 {
	var seqs []uint64
	seen := map[*inode]bool{}
	var walk func(n *inode)
	walk = func(n *inode) {
		if seen[n] || !n.isDir() {
			return
		}
		seen[n] = true
		for _, ch := range n.changes {
			seqs = append(seqs, ch.seq)
			if ch.node != nil {
				walk(ch.node)
			}
		}
		for _, child := range n.entries {
			walk(child)
		}
		for _, child := range n.durEntries {
			walk(child)
		}
	}
	walk(root)
	slices.Sort(seqs)
	return slices.Compact(seqs)
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
