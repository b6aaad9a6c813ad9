//go:build windows

package vfs

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// renameRetryFor bounds how long a replace waits for another process to let
// go of the target. Antivirus scanners and indexers hold files for
// milliseconds; a reader that never closes must not hang the writer.
const renameRetryFor = 2 * time.Second

// rename replaces newname with oldname by handle: oldname is opened with
// DELETE access and renamed with SetFileInformationByHandle, then that
// same handle is flushed.
//
// FileRenameInfoEx with FILE_RENAME_FLAG_POSIX_SEMANTICS and
// REPLACE_IF_EXISTS (Windows 10 1809 and later, NTFS) replaces a target
// that others hold open if they share delete access, as on Unix: their
// handles keep the old file. IGNORE_READONLY_ATTRIBUTE replaces a
// read-only target without touching its attribute (the new file carries
// it already). Where the class or a flag is not supported (older Windows,
// FAT, exFAT, some network redirectors) the plain FileRenameInfo with
// ReplaceIfExists is used, which fails while the target is open at all.
//
// The flush of the handle is belt and braces: once the name is published,
// a failed flush is not a failed rename (retrying would find oldname gone),
// and the directory sync that a durable replace does next is what makes
// the new name durable (see syncDir).
//
// Sharing violations are retried for renameRetryFor. Access denied is
// retried only while the target is found to be held by another process; a
// permission error or a directory target fails at once.
func rename(oldname, newname string) error {
	target := onDiskName(newname)
	deadline := time.Now().Add(renameRetryFor)
	delay := time.Millisecond
	for {
		err := renameByHandle(oldname, target)
		if err == nil {
			return nil
		}
		busy := isSharingError(err)
		if !busy && errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			var why error
			busy, why = targetBusy(target)
			if why != nil {
				err = why
			}
		}
		if !busy || time.Now().After(deadline) {
			if busy {
				err = fmt.Errorf("%w (another process holds the target open without sharing delete access, or the filesystem cannot replace an open file)", err)
			}
			return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// renameFlags are the FileRenameInfoEx flags of a replace.
const renameFlags = windows.FILE_RENAME_REPLACE_IF_EXISTS | windows.FILE_RENAME_POSIX_SEMANTICS |
	windows.FILE_RENAME_IGNORE_READONLY_ATTRIBUTE

// renameByHandle renames oldname to newname, replacing it, and flushes
// the renamed file's handle. An error means nothing was renamed.
func renameByHandle(oldname, newname string) error {
	from, err := utf16Ptr(oldname)
	if err != nil {
		return err
	}
	to, err := windows.UTF16FromString(winPath(newname))
	if err != nil {
		return err
	}
	to = to[:len(to)-1]
	// Write access for the flush. A read-only temp file (the target's
	// mode was read-only) cannot be opened for writing: rename it with
	// attribute access only, and leave the flush to the directory sync.
	access := uint32(windows.DELETE | windows.SYNCHRONIZE | windows.FILE_READ_ATTRIBUTES | windows.GENERIC_WRITE)
	h, err := windows.CreateFile(from, access, shareAll, nil, windows.OPEN_EXISTING, windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		access = windows.DELETE | windows.SYNCHRONIZE | windows.FILE_READ_ATTRIBUTES
		h, err = windows.CreateFile(from, access, shareAll, nil, windows.OPEN_EXISTING, windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	}
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	buf, size := renameInfo(renameFlags, to)
	err = windows.SetFileInformationByHandle(h, windows.FileRenameInfoEx, (*byte)(unsafe.Pointer(&buf[0])), size)
	if isUnsupported(err) {
		buf, size = renameInfo(1, to) // ReplaceIfExists = TRUE
		err = windows.SetFileInformationByHandle(h, windows.FileRenameInfo, (*byte)(unsafe.Pointer(&buf[0])), size)
	}
	if err != nil {
		return err
	}
	if access&windows.GENERIC_WRITE != 0 {
		windows.FlushFileBuffers(h) // see rename
	}
	return nil
}

// isUnsupported reports a rename class or flag that this Windows or this
// filesystem does not implement.
func isUnsupported(err error) bool {
	return errors.Is(err, windows.ERROR_INVALID_PARAMETER) ||
		errors.Is(err, windows.ERROR_INVALID_FUNCTION) ||
		errors.Is(err, windows.ERROR_NOT_SUPPORTED) ||
		errors.Is(err, windows.ERROR_CALL_NOT_IMPLEMENTED)
}

// isSharingError reports an error that another process's open handle or
// byte-range lock causes: it goes away when that process lets go.
func isSharingError(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) ||
		errors.Is(err, windows.ERROR_LOCK_VIOLATION)
}

// targetBusy says whether an access-denied rename onto target failed
// because another process holds target (worth waiting for) rather than
// for want of permission. A directory target is never replaced: that is
// ERROR_ALREADY_EXISTS, as on Unix; a read-only target is a permission
// error. Opening target for deletion tells the
// rest apart: a sharing violation is a holder that does not share delete
// access; success means target can be deleted, so the rename failed
// because it is open (a filesystem without POSIX-semantics renames);
// access denied is a permission error.
func targetBusy(target string) (busy bool, why error) {
	p, err := utf16Ptr(target)
	if err != nil {
		return false, nil
	}
	if a, err := windows.GetFileAttributes(p); err == nil {
		if a&windows.FILE_ATTRIBUTE_DIRECTORY != 0 {
			return false, windows.ERROR_ALREADY_EXISTS
		}
		if a&windows.FILE_ATTRIBUTE_READONLY != 0 {
			// Only FileRenameInfoEx's IGNORE_READONLY_ATTRIBUTE replaces
			// it; clearing the user's attribute for the rename would lose
			// it in a crash between the two.
			return false, fmt.Errorf("%w: the target is read-only, and this Windows version or filesystem cannot replace a read-only file", windows.ERROR_ACCESS_DENIED)
		}
	}
	h, err := windows.CreateFile(p, windows.DELETE|windows.FILE_READ_ATTRIBUTES, shareAll, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return isSharingError(err), nil
	}
	windows.CloseHandle(h)
	return true, nil
}
