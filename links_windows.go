package durable

import (
	"io/fs"
	"syscall"

	"github.com/durable-go/durable/vfs"
)

// osLinkCount asks NTFS for the link count, which a Windows FileInfo does
// not carry. It can only ask the real filesystem.
func osLinkCount(fsys vfs.FS, name string, _ fs.FileInfo) (uint64, bool) {
	if _, ok := fsys.(vfs.OS); !ok {
		return 0, false
	}
	p, err := syscall.UTF16PtrFromString(name)
	if err != nil {
		return 0, false
	}
	const fileReadAttributes = 0x80
	h, err := syscall.CreateFile(p, fileReadAttributes,
		syscall.FILE_SHARE_READ|syscall.FILE_SHARE_WRITE|syscall.FILE_SHARE_DELETE,
		nil, syscall.OPEN_EXISTING, syscall.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return 0, false
	}
	defer syscall.CloseHandle(h)
	var info syscall.ByHandleFileInformation
	if err := syscall.GetFileInformationByHandle(h, &info); err != nil {
		return 0, false
	}
	return uint64(info.NumberOfLinks), true
}
