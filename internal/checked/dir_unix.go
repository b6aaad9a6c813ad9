//go:build unix

package checked

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// dirHandle is the open directory.
type dirHandle struct{ f *os.File }

func openDir(path string) (dirHandle, error) {
	fd, err := retry(func() (int, error) {
		return unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	})
	if err != nil {
		return dirHandle{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return dirHandle{os.NewFile(uintptr(fd), path)}, nil
}

func (h dirHandle) readDir() ([]fs.DirEntry, error) {
	// A duplicate, so that reading moves no offset of h's and closing it
	// leaves h open.
	fd, err := unix.Openat(h.fd(), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: h.f.Name(), Err: err}
	}
	f := os.NewFile(uintptr(fd), h.f.Name())
	defer f.Close()
	des, err := f.ReadDir(-1)
	slices.SortFunc(des, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return des, err
}

func (h dirHandle) close() error               { return h.f.Close() }
func (h dirHandle) stat() (fs.FileInfo, error) { return h.f.Stat() }

// fd is the directory's descriptor; h.f stays referenced by the caller's
// Dir, so it is not closed under us.
func (h dirHandle) fd() int { return int(h.f.Fd()) }

func (h dirHandle) open(path, name string, flag int) (*os.File, error) {
	if flag&(os.O_CREATE|os.O_TRUNC) != 0 {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrInvalid}
	}
	fd, err := retry(func() (int, error) {
		return unix.Openat(h.fd(), name, flag|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	})
	if err == unix.ELOOP || err == unix.EMLINK {
		// O_NOFOLLOW's answer for a link: ELOOP (EMLINK on FreeBSD).
		err = ErrNotRegular
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	// A regular file ignores O_NONBLOCK; clear it all the same so the
	// descriptor behaves as an ordinary one.
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil {
		unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_NONBLOCK)
	}
	return os.NewFile(uintptr(fd), path), nil
}

func (h dirHandle) remove(path, name string, want fs.FileInfo) error {
	id, ok := idOf(want)
	if !ok {
		return &fs.PathError{Op: "remove", Path: path, Err: errors.New("no identity to compare")}
	}
	var st unix.Stat_t
	if err := unix.Fstatat(h.fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "remove", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return &fs.PathError{Op: "remove", Path: path, Err: ErrNotRegular}
	}
	if (ID{uint64(st.Dev), uint64(st.Ino)}) != id {
		return &fs.PathError{Op: "remove", Path: path, Err: ErrChanged}
	}
	// The name could still be swapped between fstatat and unlinkat; what
	// is then removed is a name in this directory (unlinkat never follows
	// a link), never a file elsewhere.
	if err := unix.Unlinkat(h.fd(), name, 0); err != nil {
		return &fs.PathError{Op: "remove", Path: path, Err: err}
	}
	return nil
}

func idOf(fi fs.FileInfo) (ID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ID{}, false
	}
	return ID{uint64(st.Dev), uint64(st.Ino)}, true
}

func retry(f func() (int, error)) (int, error) {
	for {
		fd, err := f()
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// sameFile has nothing to add to idOf here.
func sameFile(a, b fs.FileInfo) (same, ok bool) { return false, false }

// pin has nothing to do: stat has read the identity already.
func pin(fs.FileInfo) {}
