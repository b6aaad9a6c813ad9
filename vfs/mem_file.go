package vfs

import (
	"io"
	"io/fs"
	"syscall"
)

// memFile is an open MemFS file. It refers to the inode, not the name, so
// it keeps working after the name is removed or renamed, as on Unix. Its
// fields are guarded by the MemFS lock.
type memFile struct {
	m      *MemFS
	node   *inode
	name   string
	read   bool
	write  bool
	append bool
	sync   bool // O_SYNC
	off    int64
	closed bool
}

// check returns the error for a call op on f, or nil when the call may go
// on; allowed says whether the file was opened for it.
func (f *memFile) check(op string, allowed bool) error {
	switch {
	case f.closed:
		return &fs.PathError{Op: op, Path: f.name, Err: closedError{}}
	case !allowed:
		return &fs.PathError{Op: op, Path: f.name, Err: syscall.EBADF}
	}
	return nil
}

func (f *memFile) Name() string { return f.name }

func (f *memFile) Read(p []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("read", f.read); err != nil {
		return 0, err
	}
	if f.node.isDir() {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: syscall.EISDIR}
	}
	if len(p) == 0 {
		return 0, nil
	}
	if f.off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[f.off:])
	f.off += int64(n)
	return n, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("read", f.read); err != nil {
		return 0, err
	}
	switch {
	case f.node.isDir():
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: syscall.EISDIR}
	case off < 0:
		return 0, &fs.PathError{Op: "readat", Path: f.name, Err: syscall.EINVAL}
	}
	var n int
	if off < int64(len(f.node.data)) {
		n = copy(p, f.node.data[off:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.m.mu.Lock()
	n, err := f.writeAt("write", p, 0, false)
	f.m.unlock(OpWrite, f.name, err == nil)
	return n, err
}

// WriteAt fails on a file opened with O_APPEND, as it does in package os,
// because the kernel would ignore the offset.
func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	n, err := f.writeAt("writeat", p, off, true)
	f.m.unlock(OpWrite, f.name, err == nil)
	return n, err
}

// writeAt writes at off when explicit is set (WriteAt), otherwise at the
// file offset or, with O_APPEND, at the end (Write).
func (f *memFile) writeAt(op string, p []byte, off int64, explicit bool) (int, error) {
	if err := f.check(op, f.write); err != nil {
		return 0, err
	}
	switch {
	case explicit && (off < 0 || f.append):
		return 0, &fs.PathError{Op: op, Path: f.name, Err: syscall.EINVAL}
	case explicit:
	case f.append:
		off = int64(len(f.node.data))
	default:
		off = f.off
	}
	if err := f.node.write(p, off); err != nil {
		return 0, &fs.PathError{Op: op, Path: f.name, Err: err}
	}
	if !explicit {
		f.off = off + int64(len(p))
	}
	if f.sync {
		f.node.sync()
	}
	return len(p), nil
}

func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("seek", true); err != nil {
		return 0, err
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += int64(len(f.node.data))
	default:
		return 0, &fs.PathError{Op: "seek", Path: f.name, Err: syscall.EINVAL}
	}
	if offset < 0 {
		return 0, &fs.PathError{Op: "seek", Path: f.name, Err: syscall.EINVAL}
	}
	f.off = offset
	return offset, nil
}

func (f *memFile) Stat() (fs.FileInfo, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("stat", true); err != nil {
		return nil, err
	}
	return f.node.info(baseName(f.name)), nil
}

// Sync makes the file's data, size, mode and owner durable; on a directory
// it makes the directory's entries durable, as fsync(2) does.
func (f *memFile) Sync() error {
	f.m.mu.Lock()
	err := f.check("sync", true)
	if err == nil {
		f.node.sync()
	}
	f.m.unlock(OpSync, f.name, err == nil)
	return err
}

// Datasync makes the file's data and size durable, as fdatasync(2) does,
// but not its mode, owner or modification time: a crash may still revert
// those. On a directory it makes the entries durable. It is what
// vfs.Datasync calls for a MemFS file.
func (f *memFile) Datasync() error {
	f.m.mu.Lock()
	err := f.check("sync", true)
	if err == nil {
		f.node.datasync()
	}
	f.m.unlock(OpSync, f.name, err == nil)
	return err
}

// Truncate needs a file open for writing (EINVAL otherwise, as on Linux).
func (f *memFile) Truncate(size int64) error {
	f.m.mu.Lock()
	err := f.check("truncate", true)
	if err == nil && (!f.write || !f.node.isRegular()) {
		err = &fs.PathError{Op: "truncate", Path: f.name, Err: syscall.EINVAL}
	}
	if err == nil {
		if terr := f.node.truncate(size); terr != nil {
			err = &fs.PathError{Op: "truncate", Path: f.name, Err: terr}
		}
	}
	f.m.unlock(OpTruncate, f.name, err == nil)
	return err
}

// Chmod sets the permission bits (with setuid, setgid and sticky); the
// umask does not apply, as with fchmod(2). Like Chown, the change is
// durable only after a sync of the file.
func (f *memFile) Chmod(mode fs.FileMode) error {
	f.m.mu.Lock()
	err := f.check("chmod", true)
	if err == nil {
		f.node.mode = f.node.mode&fs.ModeType | mode&permBits
	}
	f.m.unlock(OpChmod, f.name, err == nil)
	return err
}

// Chown sets the owner; -1 leaves uid or gid unchanged.
func (f *memFile) Chown(uid, gid int) error {
	f.m.mu.Lock()
	err := f.check("chown", true)
	if err == nil {
		if uid != -1 {
			f.node.uid = uid
		}
		if gid != -1 {
			f.node.gid = gid
		}
	}
	f.m.unlock(OpChown, f.name, err == nil)
	return err
}

// Close releases the file. Like close(2) it makes nothing durable.
func (f *memFile) Close() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("close", true); err != nil {
		return err
	}
	f.closed = true
	return nil
}
