//go:build windows

package sidecar

import (
	"errors"
	"io/fs"
	"syscall"

	"golang.org/x/sys/windows"

	"github.com/durable-go/durable/vfs"
)

// nonBlock is 0: Windows has no FIFOs in the filesystem's namespace.
const nonBlock = 0

// links returns how many names the open file has, asked of its handle.
func links(f vfs.File, fi fs.FileInfo) (uint64, bool) {
	if st, ok := fi.Sys().(*vfs.MemStat); ok {
		return uint64(st.Nlink), true
	}
	h, ok := f.(interface{ Fd() uintptr })
	if !ok {
		return 0, false
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(h.Fd()), &info); err != nil {
		return 0, false
	}
	return uint64(info.NumberOfLinks), true
}

// isLinkErrno reports the error MemFS gives for O_NOFOLLOW on a link; on
// the real filesystem the link itself is opened and refused by its type.
func isLinkErrno(err error) bool { return errors.Is(err, syscall.ELOOP) }
