package vfs

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

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
