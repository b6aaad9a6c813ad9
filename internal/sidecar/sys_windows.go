//go:build windows

package sidecar

import (
	"errors"
	"io/fs"
	"syscall"
	"time"

	"golang.org/x/sys/windows"

	"github.com/durable-go/durable/vfs"
)

// nonBlock is 0: Windows has no FIFOs in the filesystem's namespace.
const nonBlock = 0

// inspect returns what the open file f says of itself, and how many names
// it has. For a real file one GetFileInformationByHandle answers both, at a
// quarter of the cost of File.Stat and a second call (lock files are opened
// on every package-level Lock).
func inspect(f vfs.File) (fs.FileInfo, uint64, bool, error) {
	h, ok := f.(interface {
		Fd() uintptr
		Name() string
	})
	if !ok {
		fi, err := f.Stat()
		if err != nil {
			return nil, 0, false, err
		}
		if st, ok := fi.Sys().(*vfs.MemStat); ok {
			return fi, uint64(st.Nlink), true, nil
		}
		return fi, 0, false, nil
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(h.Fd()), &info); err != nil {
		return nil, 0, false, &fs.PathError{Op: "stat", Path: h.Name(), Err: err}
	}
	return &handleInfo{name: h.Name(), info: info}, uint64(info.NumberOfLinks), true, nil
}

// handleInfo is the fs.FileInfo of a handle, as package os would give it
// for what a sidecar can be.
type handleInfo struct {
	name string
	info windows.ByHandleFileInformation
}

func (fi *handleInfo) Name() string { return fi.name }
func (fi *handleInfo) Size() int64 {
	return int64(fi.info.FileSizeHigh)<<32 | int64(fi.info.FileSizeLow)
}
func (fi *handleInfo) Mode() fs.FileMode {
	m := fs.FileMode(0o666)
	if fi.info.FileAttributes&windows.FILE_ATTRIBUTE_READONLY != 0 {
		m = 0o444
	}
	switch {
	case fi.info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0:
		// Opened with FILE_FLAG_OPEN_REPARSE_POINT: the link itself.
		m |= fs.ModeSymlink
	case fi.info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0:
		m |= fs.ModeDir | 0o111
	}
	return m
}
func (fi *handleInfo) ModTime() time.Time {
	return time.Unix(0, fi.info.LastWriteTime.Nanoseconds())
}
func (fi *handleInfo) IsDir() bool { return fi.Mode().IsDir() }
func (fi *handleInfo) Sys() any    { return nil }

// isLinkErrno reports the error MemFS gives for O_NOFOLLOW on a link; on
// the real filesystem the link itself is opened and refused by its type.
func isLinkErrno(err error) bool { return errors.Is(err, syscall.ELOOP) }
