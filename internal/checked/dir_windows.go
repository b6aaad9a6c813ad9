package checked

import (
	"io/fs"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// dirHandle is the directory, opened without FILE_SHARE_DELETE so that it
// cannot be renamed or removed while it is held.
type dirHandle struct {
	path string
	h    windows.Handle
}

func openDir(path string) (dirHandle, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return dirHandle{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.FILE_LIST_DIRECTORY|windows.FILE_READ_ATTRIBUTES,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return dirHandle{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var bi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &bi); err != nil || bi.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY == 0 {
		windows.CloseHandle(h)
		if err == nil {
			err = windows.ERROR_DIRECTORY
		}
		return dirHandle{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return dirHandle{path, h}, nil
}

// readDir lists the directory by its path, which the held handle keeps
// from being renamed or removed (Windows), or by path alone (elsewhere).
func (d dirHandle) readDir() ([]fs.DirEntry, error) { return os.ReadDir(d.path) }

func (d dirHandle) close() error { return windows.CloseHandle(d.h) }

func (d dirHandle) stat() (fs.FileInfo, error) { return os.Stat(d.path) }

// openName opens path without following a reparse point and refuses
// anything but a plain file.
func openName(path string, access uint32) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	h, err := windows.CreateFile(p, access,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return 0, err
	}
	var bi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &bi); err != nil {
		windows.CloseHandle(h)
		return 0, err
	}
	if bi.FileAttributes&(windows.FILE_ATTRIBUTE_REPARSE_POINT|windows.FILE_ATTRIBUTE_DIRECTORY|windows.FILE_ATTRIBUTE_DEVICE) != 0 {
		windows.CloseHandle(h)
		return 0, ErrNotRegular
	}
	return h, nil
}

func (d dirHandle) open(path, name string, flag int) (*os.File, error) {
	if flag&(os.O_CREATE|os.O_TRUNC) != 0 {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrInvalid}
	}
	access := uint32(windows.GENERIC_READ)
	if flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		access |= windows.GENERIC_WRITE
	}
	if flag&os.O_APPEND != 0 {
		// As os.OpenFile does: without FILE_WRITE_DATA every write
		// lands at the end.
		access &^= windows.GENERIC_WRITE
		access |= windows.FILE_APPEND_DATA | windows.FILE_WRITE_ATTRIBUTES | windows.FILE_WRITE_EA |
			windows.STANDARD_RIGHTS_WRITE | windows.SYNCHRONIZE
	}
	h, err := openName(path, access)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

func (d dirHandle) remove(path, name string, want fs.FileInfo) error {
	h, err := openName(path, windows.DELETE|windows.FILE_READ_ATTRIBUTES|windows.SYNCHRONIZE)
	if err != nil {
		return &fs.PathError{Op: "remove", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(h), path)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return &fs.PathError{Op: "remove", Path: path, Err: err}
	}
	if !Same(fi, want) {
		return &fs.PathError{Op: "remove", Path: path, Err: ErrChanged}
	}
	// Delete the file this handle compared, whatever its name now is.
	del := uint32(1)
	if err := windows.SetFileInformationByHandle(h, windows.FileDispositionInfo, (*byte)(unsafe.Pointer(&del)), 4); err != nil {
		return &fs.PathError{Op: "remove", Path: path, Err: err}
	}
	return nil
}

// idOf has no identity to give: the os package keeps a Windows file's
// volume serial number and file index to itself, so Same asks sameFile.
func idOf(fs.FileInfo) (ID, bool) { return ID{}, false }

// sameFile compares two FileInfos that the os package made (os.Stat,
// os.Lstat, (*os.File).Stat, a directory listing's Info) by volume serial
// number and file index, through os.SameFile. Size and modification time
// would not do: a directory's change whenever a name in it is created or
// removed, so a repair would find every directory "replaced" once an
// earlier repair in it had removed a temp file. FileInfos from elsewhere
// (an in-memory filesystem) have no identity: ok is false.
func sameFile(a, b fs.FileInfo) (same, ok bool) {
	if !fromOS(a) || !fromOS(b) {
		return false, false
	}
	return os.SameFile(a, b), true
}

// fromOS reports whether fi is the os package's: its Sys is what
// os.SameFile needs beside it.
func fromOS(fi fs.FileInfo) bool {
	_, ok := fi.Sys().(*syscall.Win32FileAttributeData)
	return ok
}

// pin makes os read fi's volume serial number and file index now, by the
// path os.Stat or os.Lstat was given (without following a reparse point).
func pin(fi fs.FileInfo) { os.SameFile(fi, fi) }
