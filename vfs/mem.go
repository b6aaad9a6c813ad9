package vfs

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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

// lookup is where a path leads.
type lookup struct {
	dir     *inode // directory holding the last component; nil for "/"
	dirPath string // dir's path with every symbolic link resolved
	name    string // last component
	node    *inode // what name refers to; nil when it does not exist
	dirOnly bool   // the path ended in a slash
}

// find resolves name. A missing last component is not an error (node is
// nil), so that callers can create it.
func (m *MemFS) find(name string, follow bool) (lookup, error) {
	if name == "" {
		return lookup{}, syscall.ENOENT
	}
	s := filepath.ToSlash(name)
	p := path.Clean("/" + s)
	l, err := m.walk(p, follow)
	if err != nil {
		return l, err
	}
	l.dirOnly = strings.HasSuffix(s, "/") && p != "/"
	if l.dirOnly && l.node != nil && !l.node.isDir() {
		return l, syscall.ENOTDIR
	}
	return l, nil
}

// walk resolves the clean absolute path p component by component. It keeps
// the directories it passed through on a stack, so that ".." in a symbolic
// link's target leads to the real parent.
func (m *MemFS) walk(p string, follow bool) (lookup, error) {
	type frame struct {
		dir  *inode
		path string
	}
	stack := []frame{{m.root, "/"}}
	comps := splitPath(p)
	links := 0
	for len(comps) > 0 {
		name := comps[0]
		comps = comps[1:]
		last := len(comps) == 0
		top := stack[len(stack)-1]
		if name == "." || name == ".." {
			// Only a symbolic link's target can bring these here.
			if name == ".." && len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		child := top.dir.entries[name]
		if child == nil {
			if last {
				return lookup{dir: top.dir, dirPath: top.path, name: name}, nil
			}
			return lookup{}, syscall.ENOENT
		}
		if child.isSymlink() && (follow || !last) {
			if links++; links > maxSymlinks {
				return lookup{}, syscall.ELOOP
			}
			t := filepath.ToSlash(child.target)
			if strings.HasPrefix(t, "/") {
				stack = stack[:1]
			}
			comps = append(splitPath(t), comps...)
			continue
		}
		if last {
			return lookup{dir: top.dir, dirPath: top.path, name: name, node: child}, nil
		}
		if !child.isDir() {
			return lookup{}, syscall.ENOTDIR
		}
		stack = append(stack, frame{child, path.Join(top.path, name)})
	}
	// The path, or a link's target, ended at a directory named by "/", "."
	// or "..": it exists but has no name of its own to create or remove.
	top := stack[len(stack)-1]
	l := lookup{node: top.dir, dirPath: top.path, name: path.Base(top.path)}
	if len(stack) > 1 {
		parent := stack[len(stack)-2]
		l.dir, l.dirPath = parent.dir, parent.path
	}
	return l, nil
}

func splitPath(p string) []string {
	var comps []string
	for c := range strings.SplitSeq(p, "/") {
		if c != "" {
			comps = append(comps, c)
		}
	}
	return comps
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

// OpenFile implements FS. O_SYNC makes every write durable before it
// returns, as it does on Linux; O_NOFOLLOW refuses a symbolic link at the
// end of name (ELOOP); other flags beyond those of package os are ignored.
func (m *MemFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	m.mu.Lock()
	f, err := m.openFile(name, flag, perm)
	m.unlock(OpOpen, name, err == nil && flag&(os.O_CREATE|os.O_TRUNC) != 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (m *MemFS) openFile(name string, flag int, perm fs.FileMode) (*memFile, error) {
	pathErr := func(err error) error { return &fs.PathError{Op: "open", Path: name, Err: err} }
	create := flag&os.O_CREATE != 0
	excl := create && flag&os.O_EXCL != 0
	// O_EXCL does not follow a link at the end: an existing link, even a
	// dangling one, is an existing name. O_NOFOLLOW refuses one.
	noFollow := flag&O_NOFOLLOW != 0
	l, err := m.find(name, !excl && !noFollow)
	if err != nil {
		return nil, pathErr(err)
	}
	if noFollow && !excl && l.node != nil && l.node.isSymlink() {
		return nil, pathErr(syscall.ELOOP)
	}
	write := flag&(os.O_WRONLY|os.O_RDWR) != 0
	n := l.node
	switch {
	case n == nil && !create:
		return nil, pathErr(syscall.ENOENT)
	case n == nil && l.dirOnly:
		return nil, pathErr(syscall.EISDIR)
	case n == nil:
		n = m.newInode(perm & permBits &^ m.umask)
		l.dir.setEntry(l.name, n, m.nextSeq())
	case excl:
		return nil, pathErr(syscall.EEXIST)
	case n.isDir() && (write || create || flag&os.O_TRUNC != 0):
		return nil, pathErr(syscall.EISDIR)
	case flag&os.O_TRUNC != 0 && len(n.data) > 0:
		if err := n.truncate(0); err != nil {
			return nil, pathErr(err)
		}
	}
	return &memFile{
		m:      m,
		node:   n,
		name:   name,
		read:   flag&os.O_WRONLY == 0,
		write:  write,
		append: flag&os.O_APPEND != 0,
		sync:   flag&os.O_SYNC != 0,
	}, nil
}

// Rename implements FS. It follows os.Rename, which refuses to replace a
// directory (EEXIST), even an empty one that rename(2) would replace;
// otherwise the rules of rename(2) apply. Renaming within one directory is
// one atomic change to it; renaming between directories removes the name
// from one and adds it to the other, and unless both directories are
// synced a crash may keep either, both or neither under the "POSIX"
// profile, the whole rename or none of it under "ordered".
func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	err := m.rename(oldname, newname)
	m.unlock(OpRename, newname, err == nil)
	return err
}

func (m *MemFS) rename(oldname, newname string) error {
	linkErr := func(err error) error {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	ol, err := m.find(oldname, false)
	if err != nil {
		return linkErr(err)
	}
	if ol.node == nil {
		return linkErr(syscall.ENOENT)
	}
	nl, err := m.find(newname, false)
	if err != nil {
		return linkErr(err)
	}
	n := ol.node
	switch {
	case nl.node != nil && nl.node.isDir() && (nl.node != n || oldname == newname):
		return linkErr(syscall.EEXIST)
	case ol.dir == nil || nl.dir == nil:
		return linkErr(syscall.EBUSY)
	case nl.node == n:
		return nil // two names of one file: rename(2) does nothing
	case nl.node != nil && n.isDir():
		return linkErr(syscall.ENOTDIR)
	case nl.dirOnly && !n.isDir():
		return linkErr(syscall.ENOTDIR)
	}
	if n.isDir() {
		from := path.Join(ol.dirPath, ol.name)
		if nl.dirPath == from || strings.HasPrefix(nl.dirPath, from+"/") {
			return linkErr(syscall.EINVAL) // into itself
		}
	}
	if ol.dir == nl.dir {
		ol.dir.renameEntry(ol.name, nl.name, m.nextSeq())
		return nil
	}
	seq := m.nextSeq()
	ol.dir.removeEntry(ol.name, seq)
	nl.dir.setEntry(nl.name, n, seq)
	return nil
}

// Link implements FS. Like link(2) on Linux it links oldname itself, not
// what a symbolic link there points to.
func (m *MemFS) Link(oldname, newname string) error {
	m.mu.Lock()
	err := m.link(oldname, newname)
	m.unlock(OpLink, newname, err == nil)
	return err
}

func (m *MemFS) link(oldname, newname string) error {
	linkErr := func(err error) error {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: err}
	}
	ol, err := m.find(oldname, false)
	if err != nil {
		return linkErr(err)
	}
	switch {
	case ol.node == nil:
		return linkErr(syscall.ENOENT)
	case ol.node.isDir():
		return linkErr(syscall.EPERM)
	}
	nl, err := m.find(newname, false)
	switch {
	case err != nil:
		return linkErr(err)
	case nl.node != nil:
		return linkErr(syscall.EEXIST)
	case nl.dirOnly:
		return linkErr(syscall.ENOENT)
	}
	nl.dir.setEntry(nl.name, ol.node, m.nextSeq())
	return nil
}

// Symlink creates newname as a symbolic link to target, like os.Symlink.
// The link's content is durable at once (as with a fast symlink kept in its
// inode); its name in the directory is not, until SyncDir.
func (m *MemFS) Symlink(target, newname string) error {
	m.mu.Lock()
	err := m.symlink(target, newname)
	m.unlock(OpSymlink, newname, err == nil)
	return err
}

func (m *MemFS) symlink(target, newname string) error {
	linkErr := func(err error) error {
		return &os.LinkError{Op: "symlink", Old: target, New: newname, Err: err}
	}
	if target == "" {
		return linkErr(syscall.ENOENT)
	}
	l, err := m.find(newname, false)
	switch {
	case err != nil:
		return linkErr(err)
	case l.node != nil:
		return linkErr(syscall.EEXIST)
	case l.dirOnly:
		return linkErr(syscall.ENOENT)
	}
	n := m.newInode(fs.ModeSymlink | 0o777)
	n.target = target
	l.dir.setEntry(l.name, n, m.nextSeq())
	return nil
}

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	err := m.remove(name)
	m.unlock(OpRemove, name, err == nil)
	return err
}

func (m *MemFS) remove(name string) error {
	pathErr := func(err error) error { return &fs.PathError{Op: "remove", Path: name, Err: err} }
	l, err := m.find(name, false)
	switch {
	case err != nil:
		return pathErr(err)
	case l.node == nil:
		return pathErr(syscall.ENOENT)
	case l.node == m.root:
		return pathErr(syscall.EBUSY)
	case l.node.isDir() && len(l.node.entries) > 0:
		return pathErr(syscall.ENOTEMPTY)
	}
	l.dir.removeEntry(l.name, m.nextSeq())
	return nil
}

// Mkdir implements FS. The new directory's entry in its parent is unsynced;
// its own (empty) list of entries starts durable.
func (m *MemFS) Mkdir(name string, perm fs.FileMode) error {
	m.mu.Lock()
	err := m.mkdir(name, perm)
	m.unlock(OpMkdir, name, err == nil)
	return err
}

func (m *MemFS) mkdir(name string, perm fs.FileMode) error {
	pathErr := func(err error) error { return &fs.PathError{Op: "mkdir", Path: name, Err: err} }
	l, err := m.find(name, false)
	switch {
	case err != nil:
		return pathErr(err)
	case l.node != nil:
		return pathErr(syscall.EEXIST)
	}
	l.dir.setEntry(l.name, m.newInode(fs.ModeDir|perm&permBits&^m.umask), m.nextSeq())
	return nil
}

// ReadDir implements FS.
func (m *MemFS) ReadDir(name string) ([]fs.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := m.find(name, true)
	switch {
	case err != nil:
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	case l.node == nil:
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.ENOENT}
	case !l.node.isDir():
		return nil, &fs.PathError{Op: "readdirent", Path: name, Err: syscall.ENOTDIR}
	}
	names := make([]string, 0, len(l.node.entries))
	for n := range l.node.entries {
		names = append(names, n)
	}
	slices.Sort(names)
	list := make([]fs.DirEntry, len(names))
	for i, n := range names {
		list[i] = memDirEntry{l.node.entries[n].info(n)}
	}
	return list, nil
}

// Stat implements FS.
func (m *MemFS) Stat(name string) (fs.FileInfo, error) { return m.stat("stat", name, true) }

// Lstat implements FS.
func (m *MemFS) Lstat(name string) (fs.FileInfo, error) { return m.stat("lstat", name, false) }

func (m *MemFS) stat(op, name string, follow bool) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if strings.HasSuffix(filepath.ToSlash(name), "/") {
		follow = true // a trailing slash resolves a link, as on Linux
	}
	l, err := m.find(name, follow)
	if err == nil && l.node == nil {
		err = syscall.ENOENT
	}
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return l.node.info(baseName(name)), nil
}

// Readlink implements FS.
func (m *MemFS) Readlink(name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := m.find(name, false)
	switch {
	case err != nil:
	case l.node == nil:
		err = syscall.ENOENT
	case !l.node.isSymlink():
		err = syscall.EINVAL
	default:
		return l.node.target, nil
	}
	return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
}

// SyncDir implements FS: it makes the directory's current entries durable
// (and its mode and owner), not the files they name. Unlike OS on Unix,
// which would fsync a regular file given here, it fails with ENOTDIR on
// anything but a directory, so that a test catches the wrong path.
func (m *MemFS) SyncDir(name string) error {
	m.mu.Lock()
	l, err := m.find(name, true)
	switch {
	case err != nil:
	case l.node == nil:
		err = syscall.ENOENT
	case !l.node.isDir():
		err = syscall.ENOTDIR
	default:
		l.node.sync()
	}
	m.unlock(OpSyncDir, name, err == nil)
	if err != nil {
		return &fs.PathError{Op: "sync", Path: name, Err: err}
	}
	return nil
}

func baseName(name string) string {
	return path.Base(path.Clean("/" + filepath.ToSlash(name)))
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

// MemStat is what FileInfo.Sys returns for a MemFS file. Its Owner method
// makes vfs.Owner work on MemFS as on the real OS.
type MemStat struct {
	Ino   uint64 // inode number: hard links share it
	Nlink int    // number of names the inode has in the visible tree
	UID   int    // owner, from SetOwner or File.Chown
	GID   int    // group, likewise
}

// Owner returns the numeric owner and group.
func (s *MemStat) Owner() (uid, gid int) { return s.UID, s.GID }

func (n *inode) info(name string) *memInfo {
	fi := &memInfo{
		name: name, mode: n.mode, mtime: n.mtime,
		sys: &MemStat{Ino: n.ino, Nlink: n.nlink, UID: n.uid, GID: n.gid},
	}
	switch {
	case n.isSymlink():
		fi.size = int64(len(n.target))
	case n.isRegular():
		fi.size = int64(len(n.data))
	}
	return fi
}

// memInfo is a snapshot of an inode; it implements fs.FileInfo.
type memInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
	sys   *MemStat
}

func (fi *memInfo) Name() string       { return fi.name }
func (fi *memInfo) Size() int64        { return fi.size }
func (fi *memInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *memInfo) ModTime() time.Time { return fi.mtime }
func (fi *memInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi *memInfo) Sys() any           { return fi.sys }
func (fi *memInfo) String() string     { return fs.FormatFileInfo(fi) }

// memDirEntry implements fs.DirEntry.
type memDirEntry struct{ fi *memInfo }

func (e memDirEntry) Name() string               { return e.fi.name }
func (e memDirEntry) IsDir() bool                { return e.fi.IsDir() }
func (e memDirEntry) Type() fs.FileMode          { return e.fi.mode.Type() }
func (e memDirEntry) Info() (fs.FileInfo, error) { return e.fi, nil }
func (e memDirEntry) String() string             { return fs.FormatDirEntry(e) }

// closedError is what a call on a closed MemFS file returns. It matches
// fs.ErrClosed, which package os returns, and syscall.EBADF, which the
// system call would.
type closedError struct{}

func (closedError) Error() string { return "file already closed" }

func (closedError) Is(target error) bool {
	return target == fs.ErrClosed || target == syscall.EBADF
}
