package vfs

import "unsafe"

// fileRenameInfo is the fixed part of Windows' FILE_RENAME_INFO, which
// SetFileInformationByHandle takes for FileRenameInfo and FileRenameInfoEx
// (WinBase.h): a union of BOOLEAN ReplaceIfExists and DWORD Flags, then
// HANDLE RootDirectory, DWORD FileNameLength (in bytes) and WCHAR
// FileName[1]. The union is a DWORD whichever member is used; the handle
// is pointer-sized and pointer-aligned, so on 64-bit Windows four bytes of
// padding follow Flags. It is defined on every platform so that its layout
// test runs on every architecture Go builds for.
type fileRenameInfo struct {
	Flags          uint32
	RootDirectory  uintptr
	FileNameLength uint32
	FileName       [1]uint16
}

// renameInfo returns a FILE_RENAME_INFO buffer naming newname (UTF-16,
// without a terminating NUL) with flags, and the size to pass with it: the
// fixed part up to FileName, the name, and a NUL that the size counts but
// FileNameLength does not. It is built as a []uint64 so that the pointer
// the system call receives is aligned for the handle that it holds.
func renameInfo(flags uint32, newname []uint16) (buf []uint64, size uint32) {
	n := int(unsafe.Offsetof(fileRenameInfo{}.FileName)) + 2*len(newname) + 2
	n = max(n, int(unsafe.Sizeof(fileRenameInfo{})))
	buf = make([]uint64, (n+7)/8)
	info := (*fileRenameInfo)(unsafe.Pointer(&buf[0]))
	info.Flags = flags
	info.FileNameLength = uint32(2 * len(newname))
	copy(unsafe.Slice(&info.FileName[0], len(newname)+1), newname)
	return buf, uint32(n)
}
