//go:build windows

package sidecar

import (
	"errors"
	"io/fs"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/durable-go/durable/vfs"
)

// nonBlock is 0: Windows has no FIFOs in the filesystem's namespace.
const nonBlock = 0

// inspect returns what the open file f says of itself, and how many names
// it has. For a real file two queries of the handle answer both
// (FileAttributeTagInfo: directory or link; FileStandardInfo: size and
// links): File.Stat and GetFileInformationByHandle also ask for the
// volume, which made every Lock several times slower under Wine.
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
	fi := &handleInfo{f: f, name: h.Name()}
	fd := windows.Handle(h.Fd())
	err := windows.GetFileInformationByHandleEx(fd, windows.FileAttributeTagInfo,
		(*byte)(unsafe.Pointer(&fi.tag)), uint32(unsafe.Sizeof(fi.tag)))
	if err == nil {
		err = windows.GetFileInformationByHandleEx(fd, windows.FileStandardInfo,
			(*byte)(unsafe.Pointer(&fi.std)), uint32(unsafe.Sizeof(fi.std)))
	}
	if err != nil {
		return nil, 0, false, &fs.PathError{Op: "stat", Path: fi.name, Err: err}
	}
	return fi, uint64(fi.std.NumberOfLinks), true, nil
}

// FILE_ATTRIBUTE_TAG_INFO and FILE_STANDARD_INFO (winbase.h).
type fileAttributeTagInfo struct {
	FileAttributes uint32
	ReparseTag     uint32
}

type fileStandardInfo struct {
	AllocationSize int64
	EndOfFile      int64
	NumberOfLinks  uint32
	DeletePending  bool
	Directory      bool
}

// handleInfo is the fs.FileInfo of a handle, as package os would give it
// for what a sidecar can be.
type handleInfo struct {
	f    vfs.File
	name string
	tag  fileAttributeTagInfo
	std  fileStandardInfo
}

func (fi *handleInfo) Name() string { return fi.name }
func (fi *handleInfo) Size() int64  { return fi.std.EndOfFile }
func (fi *handleInfo) Mode() fs.FileMode {
	m := fs.FileMode(0o666)
	if fi.tag.FileAttributes&windows.FILE_ATTRIBUTE_READONLY != 0 {
		m = 0o444
	}
	switch {
	case fi.tag.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0:
		// Opened with FILE_FLAG_OPEN_REPARSE_POINT: the link itself.
		m |= fs.ModeSymlink
	case fi.tag.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0 || fi.std.Directory:
		m |= fs.ModeDir | 0o111
	}
	return m
}

// ModTime asks the file: no sidecar check needs it.
func (fi *handleInfo) ModTime() time.Time {
	if st, err := fi.f.Stat(); err == nil {
		return st.ModTime()
	}
	return time.Time{}
}
func (fi *handleInfo) IsDir() bool { return fi.Mode().IsDir() }
func (fi *handleInfo) Sys() any    { return nil }

// isLinkErrno reports the error MemFS gives for O_NOFOLLOW on a link; on
// the real filesystem the link itself is opened and refused by its type.
func isLinkErrno(err error) bool { return errors.Is(err, syscall.ELOOP) }

// syncOpenDir flushes the directory name with fsys.SyncDir, not through f:
// FlushFileBuffers needs a handle opened for writing, which f is not, and
// SyncDir knows which refusals mean the filesystem has nothing to flush
// for a directory (NTFS wrote the entries through; Wine says "Access
// denied").
func syncOpenDir(fsys vfs.FS, _ vfs.File, name string) error { return fsys.SyncDir(name) }
