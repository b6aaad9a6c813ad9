//go:build unix

package vfs

import (
	"io/fs"
	"os"
	"syscall"
)

// openFile opens with open(2) and wraps the descriptor with os.NewFile.
// os.OpenFile would also try to register every file with Go's poller, at
// the price of four fcntl calls per open, which cannot help for the regular
// files and directories this package opens (the poller cannot wait on
// them); NewFile asks one question instead (F_GETFL), which also tells it
// an O_APPEND file, so that WriteAt refuses it as it should.
//
// O_NONBLOCK serves to open without waiting (on a FIFO someone planted
// where a file was expected); once open, a regular file or directory is put
// back in blocking mode, which is all that such files know.
func openFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	fd, err := openFd(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if flag&syscall.O_NONBLOCK != 0 {
		if err := blockIfFile(fd); err != nil {
			syscall.Close(fd)
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// oNoFollow is O_NOFOLLOW.
const oNoFollow = syscall.O_NOFOLLOW

// blockIfFile clears O_NONBLOCK on fd if it is a regular file or a
// directory, so that os.NewFile does not try to add it to the poller.
func blockIfFile(fd int) error {
	var st syscall.Stat_t
	for {
		err := syscall.Fstat(fd, &st)
		if err == nil {
			break
		}
		if err != syscall.EINTR {
			return err
		}
	}
	if t := st.Mode & syscall.S_IFMT; t != syscall.S_IFREG && t != syscall.S_IFDIR {
		return nil
	}
	return syscall.SetNonblock(fd, false)
}

func openFd(name string, flag int, perm fs.FileMode) (int, error) {
	for {
		fd, err := syscall.Open(name, flag|syscall.O_CLOEXEC, syscallMode(perm))
		if err == nil {
			return fd, nil
		}
		if err != syscall.EINTR {
			return -1, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
}

// syscallMode is the mode argument of open(2) for perm, as os.OpenFile
// builds it.
func syscallMode(perm fs.FileMode) uint32 {
	m := uint32(perm.Perm())
	if perm&fs.ModeSetuid != 0 {
		m |= syscall.S_ISUID
	}
	if perm&fs.ModeSetgid != 0 {
		m |= syscall.S_ISGID
	}
	if perm&fs.ModeSticky != 0 {
		m |= syscall.S_ISVTX
	}
	return m
}

func rename(oldname, newname string) error { return os.Rename(oldname, onDiskName(newname)) }

// renameFile is rename for a file oldname. Where newname is a directory,
// rename(2) says EISDIR (ENOTDIR with a trailing slash) and os.Rename
// EEXIST; only then is it worth looking, to say what os.Rename says.
func renameFile(oldname, newname string) error {
	target := onDiskName(newname)
	for {
		err := syscall.Rename(oldname, target)
		switch err {
		case nil:
			return nil
		case syscall.EINTR:
			continue
		case syscall.EISDIR, syscall.ENOTDIR:
			if fi, lerr := os.Lstat(newname); lerr == nil && fi.IsDir() {
				err = syscall.EEXIST
			}
		}
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
}

// syncDir opens the directory read-only (a directory cannot be opened for
// writing) and flushes it with fsyncFd.
func syncDir(name string) error {
	fd, err := openFd(name, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	err = fsyncFd(fd)
	if cerr := syscall.Close(fd); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return &fs.PathError{Op: "sync", Path: name, Err: err}
	}
	return nil
}

func owner(fi fs.FileInfo) (uid, gid int, ok bool) {
	if st, isStat := fi.Sys().(*syscall.Stat_t); isStat {
		return int(st.Uid), int(st.Gid), true
	}
	if o, isOwner := fi.Sys().(interface{ Owner() (int, int) }); isOwner {
		uid, gid = o.Owner()
		return uid, gid, true
	}
	return 0, 0, false
}

func links(fi fs.FileInfo) (uint64, bool) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink), true
	}
	return 0, false
}
