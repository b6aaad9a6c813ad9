//go:build windows

package vfs

import (
	"errors"
	"io/fs"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// openFile opens read-only files with FILE_SHARE_DELETE so that a reader of
// ours never makes a concurrent replace of the same file fail. Other opens
// go through os.OpenFile (they are temp files nobody else knows about).
func openFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return os.OpenFile(name, flag, perm)
	}
	p, err := utf16Ptr(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_BACKUP_SEMANTICS|uint32(flag&oNoFollow), 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(h), name), nil
}

// oNoFollow is O_NOFOLLOW: FILE_FLAG_OPEN_REPARSE_POINT, in the bits of the
// flag that os.OpenFile hands to CreateFile as they are.
const oNoFollow = windows.FILE_FLAG_OPEN_REPARSE_POINT

// renameRetryFor bounds how long a replace waits for another process to let
// go of the target. Antivirus scanners and indexers hold files for
// milliseconds; a reader that never closes must not hang the writer.
const renameRetryFor = 2 * time.Second

// renameFile is rename: MoveFileEx refuses a directory newname by itself.
func renameFile(oldname, newname string) error { return rename(oldname, newname) }

func rename(oldname, newname string) error {
	target := onDiskName(newname)
	from, err := utf16Ptr(oldname)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	to, err := utf16Ptr(target)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	deadline := time.Now().Add(renameRetryFor)
	delay := time.Millisecond
	for {
		err = windows.MoveFileEx(from, to, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
		if err == nil {
			return nil
		}
		if !isSharingError(err) {
			break
		}
		if done, rerr := replaceReadOnly(from, to); done {
			if rerr == nil {
				return nil
			}
			if err = rerr; !isSharingError(rerr) {
				break
			}
		}
		// A reader that opened the target with FILE_SHARE_DELETE (all of
		// ours do) allows a POSIX-semantics rename where MoveFileEx fails.
		if perr := posixRename(oldname, target); perr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
	return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
}

// replaceReadOnly handles the other reason MoveFileEx refuses to replace a
// file: the target has the read-only attribute. On Unix a read-only mode
// does not stop a rename over the file (only the directory's permissions
// matter), and the replacement keeps the mode; here the attribute is
// cleared just for the rename (the temp file already carries the old
// file's mode, attribute included), and put back if the rename still
// fails. done is false when the target is not read-only.
func replaceReadOnly(from, to *uint16) (done bool, err error) {
	attrs, err := windows.GetFileAttributes(to)
	if err != nil || attrs&windows.FILE_ATTRIBUTE_READONLY == 0 {
		return false, nil
	}
	if err := windows.SetFileAttributes(to, attrs&^windows.FILE_ATTRIBUTE_READONLY); err != nil {
		return true, err
	}
	err = windows.MoveFileEx(from, to, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
	if err != nil {
		windows.SetFileAttributes(to, attrs)
	}
	return true, err
}

func isSharingError(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) ||
		errors.Is(err, windows.ERROR_SHARING_VIOLATION) ||
		errors.Is(err, windows.ERROR_LOCK_VIOLATION)
}

// Values from the Windows SDK (winbase.h); x/sys/windows lacks them.
const (
	fileRenameInfoEx              = 22
	fileRenameFlagReplaceIfExists = 0x1
	fileRenameFlagPOSIXSemantics  = 0x2
)

// posixRename renames with FILE_RENAME_FLAG_POSIX_SEMANTICS (Windows 10
// 1709 and later, NTFS): the target's name is unlinked even while open
// handles that share delete access remain, as on Unix.
func posixRename(oldname, newname string) error {
	from, err := utf16Ptr(oldname)
	if err != nil {
		return err
	}
	to, err := windows.UTF16FromString(winPath(newname))
	if err != nil {
		return err
	}
	h, err := windows.CreateFile(from, windows.DELETE|windows.SYNCHRONIZE|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	// FILE_RENAME_INFO: Flags (DWORD, padded to pointer size), RootDirectory
	// (HANDLE), FileNameLength (DWORD, bytes), FileName (WCHAR[], no NUL).
	type renameInfo struct {
		Flags          uint32
		RootDirectory  windows.Handle
		FileNameLength uint32
		FileName       [1]uint16
	}
	nameBytes := (len(to) - 1) * 2
	size := int(unsafe.Offsetof(renameInfo{}.FileName)) + nameBytes + 2
	buf := make([]byte, size)
	info := (*renameInfo)(unsafe.Pointer(&buf[0]))
	info.Flags = fileRenameFlagReplaceIfExists | fileRenameFlagPOSIXSemantics
	info.FileNameLength = uint32(nameBytes)
	copy(unsafe.Slice(&info.FileName[0], len(to)), to)
	if err := windows.SetFileInformationByHandle(h, fileRenameInfoEx, &buf[0], uint32(size)); err != nil {
		return err
	}
	return windows.FlushFileBuffers(h)
}

// syncDir flushes the directory handle where NTFS allows it. Where the
// filesystem refuses (FAT, network shares, Wine) the rename that came before
// was already written through by MOVEFILE_WRITE_THROUGH, so there is nothing
// left to flush: see the OS doc.
func syncDir(name string) error {
	p, err := utf16Ptr(name)
	if err != nil {
		return &fs.PathError{Op: "sync", Path: name, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
			return &fs.PathError{Op: "sync", Path: name, Err: err}
		}
		return nil
	}
	defer windows.CloseHandle(h)
	if err := windows.FlushFileBuffers(h); err != nil && !isUnsupportedFlush(err) {
		return &fs.PathError{Op: "sync", Path: name, Err: err}
	}
	return nil
}

func isUnsupportedFlush(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) ||
		errors.Is(err, windows.ERROR_INVALID_FUNCTION) ||
		errors.Is(err, windows.ERROR_INVALID_PARAMETER) ||
		errors.Is(err, windows.ERROR_NOT_SUPPORTED)
}

func owner(fi fs.FileInfo) (uid, gid int, ok bool) {
	if o, isOwner := fi.Sys().(interface{ Owner() (int, int) }); isOwner {
		uid, gid = o.Owner()
		return uid, gid, true
	}
	return 0, 0, false
}

// links says nothing: a Windows FileInfo carries no link count.
func links(fs.FileInfo) (uint64, bool) { return 0, false }
