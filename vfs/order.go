package vfs

// OrderedDirs reports whether the filesystem that holds dir keeps the
// directory changes made on it in one global order across a crash, as the
// DirsOrdered profile models: what a power cut leaves is every change
// made up to some point, in every directory together, never a later change
// without an earlier one. Filesystems that journal their metadata do this
// (their journal commits transactions in order and recovery replays a
// prefix of them), and there a change needs no fsync of its own to be
// ordered before a later one: making the later one durable makes it
// durable too.
//
// It is true only where that is known: on the OS, Linux's xfs and ext4
// with its journal (not ext4 without one, nor ext2, btrfs, tmpfs, network
// filesystems, or any other platform); on a MemFS, when its crash model
// is DirsOrdered. It is false for any other FS, wrappers included: a
// wrapper may change what its calls do.
func OrderedDirs(fsys FS, dir string) bool {
	if o, ok := fsys.(interface{ OrderedDirs(dir string) bool }); ok {
		return o.OrderedDirs(dir)
	}
	return false
}

// OrderedDirs implements the function OrderedDirs for the OS.
func (OS) OrderedDirs(dir string) bool { return orderedDirs(dir) }

// OrderedDirs implements the function OrderedDirs: whether m's crash model
// is DirsOrdered.
func (m *MemFS) OrderedDirs(string) bool { return m.Model().Dirs == DirsOrdered }
