package vfs

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MemFS is a strict in-memory model of a POSIX filesystem that can be
// crashed. It exists so that tests can ask what a power cut at any instant
// would leave on disk, which a real filesystem cannot answer.
//
// Alongside what a program sees, MemFS keeps what is durable: the content
// of each file as of its last File.Sync, and the entries of each directory
// as of its last SyncDir (or File.Sync of the directory), each followed by
// the ordered list of changes made since. A file's mode and owner, like
// its data, are durable once the file is synced (File.Sync; a Datasync
// covers data and size only). Crash returns a new MemFS holding one state
// a power cut could leave, sampled under a seed; CrashStates enumerates
// them. SetCrashModel chooses the directory-ordering profile ("POSIX", the
// default, or "ordered") and whether torn writes may leave garbage; see
// Crash for the choices.
//
// Paths use the host's separators or slashes; they are cleaned with
// path.Clean, so ".." is resolved by name before any symbolic link is
// followed (unlike the kernel), and a relative path is relative to "/".
// Symbolic links are followed in every directory along a path and, for
// OpenFile, Stat, ReadDir and SyncDir, at its end, at most 40 times (then
// ELOOP). Errors are *fs.PathError or *os.LinkError around the errno that
// Linux would return, so errors.Is works as with package os; a call on a
// closed file returns an error that matches both fs.ErrClosed (as os does)
// and syscall.EBADF.
//
// Modes are recorded, never enforced: the model behaves as root would.
// Contents are held in memory, so a file may not grow beyond 1 GiB (EFBIG).
// A MemFS is safe for concurrent use.
type MemFS struct {
	mu       sync.Mutex
	root     *inode
	nextIno  uint64
	umask    fs.FileMode
	uid, gid int
	hook     func(op Op, name string)
	model    CrashModel
	seq      uint64 // numbers directory changes in the order they were made
}

var _ FS = (*MemFS)(nil)

// NewMem returns an empty MemFS holding only the root directory "/", with
// umask 022 and owner 0:0. Its initial state is durable.
func NewMem() *MemFS {
	m := &MemFS{umask: 0o022}
	m.root = m.newInode(fs.ModeDir | 0o755)
	m.root.nlink = 1
	return m
}

// permBits are the mode bits that Chmod and creation may set.
const permBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// maxFileSize bounds a file so that a stray offset fails with EFBIG instead
// of exhausting memory.
const maxFileSize = 1 << 30

// maxSymlinks is Linux's limit on links followed in one lookup.
const maxSymlinks = 40

// inode is a file, directory or symbolic link. Hard links share one inode.
// Every field is guarded by the MemFS lock.
type inode struct {
	ino      uint64
	mode     fs.FileMode // type and permission bits, as FileInfo.Mode reports
	uid, gid int
	mtime    time.Time
	nlink    int // names in the visible tree

	// Mode, owner and time as of the last sync; a crash may revert to
	// them. Datasync leaves them alone, as fdatasync(2) does.
	durMode        fs.FileMode
	durUID, durGID int
	durMtime       time.Time

	// Regular files: data is what readers see; durData plus muts, in
	// order, gives data again.
	data    []byte
	durData []byte
	muts    []mutation

	// Directories: likewise entries is durEntries plus changes.
	entries    map[string]*inode
	durEntries map[string]*inode
	changes    []dirChange

	// Symbolic links: the target exactly as given.
	target string
}

// mutation is one unsynced change to a file's data: a write of data at off,
// or a truncate to size.
type mutation struct {
	trunc bool
	off   int64
	data  []byte
	size  int64
}

// apply returns d changed by mu. d may be modified in place.
func (mu mutation) apply(d []byte) []byte {
	if mu.trunc {
		return resize(d, mu.size)
	}
	return writeBytes(d, mu.data, mu.off)
}

// dirChange is one unsynced change to a directory: remove, if set, is
// deleted first, then set, if set, names node. A rename within one directory
// is one change, so a crash keeps it whole or not at all. seq orders the
// changes of all directories; the two halves of a rename between
// directories share one, so that the "ordered" profile keeps it whole.
type dirChange struct {
	remove string
	set    string
	node   *inode
	seq    uint64
}

func (c dirChange) apply(e map[string]*inode) {
	if c.remove != "" {
		delete(e, c.remove)
	}
	if c.set != "" {
		e[c.set] = c.node
	}
}

func (n *inode) isDir() bool     { return n.mode&fs.ModeDir != 0 }
func (n *inode) isSymlink() bool { return n.mode&fs.ModeSymlink != 0 }
func (n *inode) isRegular() bool { return n.mode.IsRegular() }

// newInode makes an inode owned by the current owner whose initial state is
// durable: creating a file makes its inode, but only the directory entry
// that names it makes it reachable, and that entry starts unsynced.
func (m *MemFS) newInode(mode fs.FileMode) *inode {
	m.nextIno++
	n := &inode{
		ino: m.nextIno, mode: mode, uid: m.uid, gid: m.gid, mtime: time.Now(),
		durMode: mode, durUID: m.uid, durGID: m.gid,
	}
	n.durMtime = n.mtime
	if n.isDir() {
		n.entries = map[string]*inode{}
		n.durEntries = map[string]*inode{}
	}
	return n
}

// sync makes the inode's current state durable, as fsync does for the file
// or directory it is called on.
func (n *inode) sync() {
	n.durMode, n.durUID, n.durGID, n.durMtime = n.mode, n.uid, n.gid, n.mtime
	n.datasync()
}

// datasync makes the inode's data, size and entries durable but not its
// mode, owner or time, as fdatasync(2) does.
func (n *inode) datasync() {
	if len(n.muts) > 0 {
		n.durData = slices.Clone(n.data)
		n.muts = nil
	}
	if len(n.changes) > 0 {
		n.durEntries = cloneEntries(n.entries)
		n.changes = nil
	}
}

func cloneEntries(e map[string]*inode) map[string]*inode {
	c := make(map[string]*inode, len(e))
	for k, v := range e {
		c[k] = v
	}
	return c
}

// write changes data and records the unsynced mutation.
func (n *inode) write(p []byte, off int64) error {
	if off+int64(len(p)) > maxFileSize {
		return syscall.EFBIG
	}
	if len(p) == 0 {
		return nil
	}
	n.muts = append(n.muts, mutation{off: off, data: slices.Clone(p)})
	n.data = writeBytes(n.data, p, off)
	n.touch()
	return nil
}

func (n *inode) truncate(size int64) error {
	switch {
	case size < 0:
		return syscall.EINVAL
	case size > maxFileSize:
		return syscall.EFBIG
	}
	n.muts = append(n.muts, mutation{trunc: true, size: size})
	n.data = resize(n.data, size)
	n.touch()
	return nil
}

// touch sets the modification time, which only a full sync makes durable.
func (n *inode) touch() {
	n.mtime = time.Now()
}

// writeBytes writes p at off in d, growing d with zeros as a write past the
// end does. d may be modified in place.
func writeBytes(d, p []byte, off int64) []byte {
	if end := off + int64(len(p)); end > int64(len(d)) {
		d = resize(d, end)
	}
	copy(d[off:], p)
	return d
}

// resize truncates or zero-extends d.
func resize(d []byte, size int64) []byte {
	old := int64(len(d))
	if size <= old {
		return d[:size]
	}
	d = slices.Grow(d, int(size-old))[:size]
	clear(d[old:])
	return d
}

// setEntry makes name in dir refer to n, replacing what it named.
func (dir *inode) setEntry(name string, n *inode, seq uint64) {
	if old := dir.entries[name]; old != nil {
		old.nlink--
	}
	dir.entries[name] = n
	n.nlink++
	dir.changes = append(dir.changes, dirChange{set: name, node: n, seq: seq})
	dir.touch()
}

func (dir *inode) removeEntry(name string, seq uint64) {
	dir.entries[name].nlink--
	delete(dir.entries, name)
	dir.changes = append(dir.changes, dirChange{remove: name, seq: seq})
	dir.touch()
}

// renameEntry renames within one directory as a single change.
func (dir *inode) renameEntry(from, to string, seq uint64) {
	n := dir.entries[from]
	delete(dir.entries, from)
	if old := dir.entries[to]; old != nil {
		old.nlink--
	}
	dir.entries[to] = n
	dir.changes = append(dir.changes, dirChange{remove: from, set: to, node: n, seq: seq})
	dir.touch()
}

// nextSeq numbers one directory change (or the two halves of a rename).
func (m *MemFS) nextSeq() uint64 {
	m.seq++
	return m.seq
}

// unlock releases m.mu and then, if the call changed the filesystem, reports
// it to the hook. The hook runs unlocked so that it may call back into m,
// Crash in particular.
func (m *MemFS) unlock(op Op, name string, changed bool) {
	hook := m.hook
	m.mu.Unlock()
	if changed && hook != nil {
		hook(op, name)
	}
}

// SetUmask sets the mask that OpenFile and Mkdir clear from the permissions
// of what they create, as the process umask does. The default is 022.
func (m *MemFS) SetUmask(mask fs.FileMode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.umask = mask & fs.ModePerm
}

// SetOwner sets the owner given to files, directories and links created from
// now on, as if the process ran as uid:gid. The default is 0:0.
func (m *MemFS) SetOwner(uid, gid int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.uid, m.gid = uid, gid
}

// SetHook makes m call fn after every call that changed the filesystem
// completes successfully: OpenFile with O_CREATE or O_TRUNC, File.Write and
// File.WriteAt, File.Truncate, File.Sync, File.Chmod, File.Chown, Rename,
// Link, Remove, Mkdir, SyncDir and Symlink. name is the path the call was
// given (the file's name for File methods, the new name for Rename, Link and
// Symlink). fn runs on the calling goroutine without m's lock held, so it
// may call any method of m: a crash-testing harness calls Crash from it to
// collect the state after every step. A nil fn removes the hook.
func (m *MemFS) SetHook(fn func(op Op, name string)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hook = fn
}

// Dump lists the visible tree, one line per name in depth-first sorted
// order, for test failure messages: a directory as "/d/ drwxr-xr-x", a file
// as "/d/f 5 -rw-r--r--" (its size, then its mode), a symbolic link as
// "/l -> target". A name whose directory entry differs from the durable one
// is marked "(entry not synced)"; a file with writes since its last sync is
// marked "(data not synced)".
func (m *MemFS) Dump() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	var walk func(dir *inode, dirPath string)
	walk = func(dir *inode, dirPath string) {
		names := make([]string, 0, len(dir.entries))
		for n := range dir.entries {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, name := range names {
			n := dir.entries[name]
			p := dirPath + name
			switch {
			case n.isDir():
				fmt.Fprintf(&b, "%s/ %v", p, n.mode)
			case n.isSymlink():
				fmt.Fprintf(&b, "%s -> %s", p, n.target)
			default:
				fmt.Fprintf(&b, "%s %d %v", p, len(n.data), n.mode)
			}
			if dir.durEntries[name] != n {
				b.WriteString(" (entry not synced)")
			}
			if len(n.muts) > 0 {
				b.WriteString(" (data not synced)")
			}
			b.WriteByte('\n')
			if n.isDir() {
				walk(n, p+"/")
			}
		}
	}
	walk(m.root, "/")
	return b.String()
}

// closedError is what a call on a closed MemFS file returns. It matches
// fs.ErrClosed, which package os returns, and syscall.EBADF, which the
// system call would.
type closedError struct{}

func (closedError) Error() string { return "file already closed" }

func (closedError) Is(target error) bool {
	return target == fs.ErrClosed || target == syscall.EBADF
}
