package vfs

import (
	"runtime"
	"testing"
	"unsafe"
)

// FILE_RENAME_INFO (WinBase.h), as Microsoft documents it: a DWORD-sized
// union of ReplaceIfExists and Flags, then HANDLE RootDirectory (pointer
// sized and aligned), DWORD FileNameLength, WCHAR FileName[1]; sizeof is
// rounded up to the handle's alignment. 24 bytes on 64-bit Windows (amd64,
// arm64), 16 on 32-bit (386, arm).
func TestFileRenameInfoLayout(t *testing.T) {
	ptr := unsafe.Sizeof(uintptr(0))
	want := struct{ flags, root, length, name, size uintptr }{0, ptr, 2 * ptr, 2*ptr + 4, 3 * ptr}
	if ptr == 4 {
		want.size = 16
	}
	var info fileRenameInfo
	got := struct{ flags, root, length, name, size uintptr }{
		unsafe.Offsetof(info.Flags), unsafe.Offsetof(info.RootDirectory),
		unsafe.Offsetof(info.FileNameLength), unsafe.Offsetof(info.FileName), unsafe.Sizeof(info),
	}
	if got != want {
		t.Fatalf("%s: offsets/size %+v, want %+v", runtime.GOARCH, got, want)
	}
	switch runtime.GOARCH {
	case "amd64", "arm64":
		if got.root != 8 || got.length != 16 || got.name != 20 || got.size != 24 {
			t.Fatalf("%s: %+v, want root 8, length 16, name 20, size 24", runtime.GOARCH, got)
		}
	case "386", "arm":
		if got.root != 4 || got.length != 8 || got.name != 12 || got.size != 16 {
			t.Fatalf("%s: %+v, want root 4, length 8, name 12, size 16", runtime.GOARCH, got)
		}
	}
}

func TestRenameInfoBuffer(t *testing.T) {
	name := []uint16{'a', 'b', 'c'}
	buf, size := renameInfo(0x43, name)
	info := (*fileRenameInfo)(unsafe.Pointer(&buf[0]))
	if info.Flags != 0x43 || info.RootDirectory != 0 || info.FileNameLength != 6 {
		t.Fatalf("header %+v", *info)
	}
	off := unsafe.Offsetof(info.FileName)
	if want := uint32(off) + 6 + 2; size != max(want, uint32(unsafe.Sizeof(*info))) {
		t.Fatalf("size %d, want %d", size, want)
	}
	got := unsafe.Slice(&info.FileName[0], 4)
	if got[0] != 'a' || got[1] != 'b' || got[2] != 'c' || got[3] != 0 {
		t.Fatalf("name %v", got)
	}
	if uintptr(unsafe.Pointer(&buf[0]))%unsafe.Alignof(uintptr(0)) != 0 {
		t.Fatal("buffer not aligned for the handle")
	}
}
