package durable

import (
	"io/fs"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// readOS is readInto on the real filesystem, with the system calls the
// read needs and no more: open, fstat, read, close. Through vfs.OS and an
// *os.File the same read also cleared O_NONBLOCK (fstat, F_GETFL, F_SETFL)
// and let os.NewFile ask F_GETFL again, and Stat asked fstat a second
// time: four system calls in eight, on every update of a document. The
// flag does nothing to the read of a regular file (it matters for the
// open only, of a FIFO planted at the name), so it is left set.
//
// It handles only what it is sure of: a regular file, opened and read. For
// anything else (the open fails, a FIFO or directory is there, a read
// fails) it reports ok false having changed nothing, and readInto takes
// the general way, which says what went wrong as it always did. The
// answers of both ways are compared in TestReadOSMatchesGeneral.
func readOS(name string, flag int, buf []byte) (data []byte, fi fs.FileInfo, ok bool) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(name, syscall.O_RDONLY|openNonBlock|syscall.O_CLOEXEC|flag, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return buf[:0], nil, false
	}
	defer syscall.Close(fd)
	si := &statInfo{name: name}
	if err := ignoringEINTR(func() error { return syscall.Fstat(fd, &si.st) }); err != nil {
		return buf[:0], nil, false
	}
	if si.st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return buf[:0], nil, false
	}
	// Room for the whole file and for the read that finds its end, as
	// readFrom makes.
	size := int(si.st.Size)
	buf = slices.Grow(buf[:0], size+512)
	for {
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return buf[:0], nil, false
		}
		if n == 0 {
			break // the end
		}
		buf = buf[:len(buf)+n]
		if len(buf) == size && len(buf) < cap(buf) {
			// As long as fstat said, and the read stopped short of the
			// room it had: the end (see readFrom).
			break
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 4096) // it grew meanwhile
		}
	}
	return buf, si, true
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != syscall.EINTR {
			return err
		}
	}
}

// statInfo is the fs.FileInfo of a regular file from its fstat, what
// os.File.Stat says of it: Sys is the *syscall.Stat_t, which vfs.Owner and
// vfs.Links read.
type statInfo struct {
	name string
	st   syscall.Stat_t
}

func (fi *statInfo) Name() string { return filepath.Base(fi.name) }
func (fi *statInfo) Size() int64  { return fi.st.Size }
func (fi *statInfo) IsDir() bool  { return false }
func (fi *statInfo) Sys() any     { return &fi.st }

func (fi *statInfo) ModTime() time.Time {
	return time.Unix(fi.st.Mtim.Unix())
}

// Mode is os's mode of a regular file: the permission bits and setuid,
// setgid and sticky.
func (fi *statInfo) Mode() fs.FileMode {
	m := fs.FileMode(fi.st.Mode & 0o777)
	if fi.st.Mode&syscall.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if fi.st.Mode&syscall.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if fi.st.Mode&syscall.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// sameStat reports whether a and b, if both come from a stat on Linux,
// are one file, as os.SameFile does for its own FileInfo.
func sameStat(a, b fs.FileInfo) (same, ok bool) {
	sa, oka := a.Sys().(*syscall.Stat_t)
	sb, okb := b.Sys().(*syscall.Stat_t)
	if !oka || !okb {
		return false, false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, true
}
