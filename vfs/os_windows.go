//go:build windows

package vfs

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/windows"
)

// shareAll is the sharing mode of every file this package opens. With
// FILE_SHARE_DELETE, a handle of ours (a reader, a journal's open
// segment, a lock file) never makes another process's rename or delete of
// the same name fail with a sharing violation; os.OpenFile shares only
// reading and writing.
const shareAll = windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE

// openFile is os.OpenFile's mapping of flags onto CreateFile, with every
// open sharing delete access (shareAll). The handle is not inheritable.
func openFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	p, err := utf16Ptr(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	var access uint32
	switch flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR) {
	case os.O_RDONLY:
		access = windows.GENERIC_READ
	case os.O_WRONLY:
		access = windows.GENERIC_WRITE
	default:
		access = windows.GENERIC_READ | windows.GENERIC_WRITE
	}
	if flag&os.O_CREATE != 0 {
		access |= windows.GENERIC_WRITE
	}
	if flag&os.O_APPEND != 0 {
		// Without FILE_WRITE_DATA every write lands at the end; O_TRUNC
		// still needs it to truncate.
		if flag&os.O_TRUNC == 0 {
			access &^= windows.GENERIC_WRITE
		}
		access |= windows.FILE_APPEND_DATA | windows.FILE_WRITE_ATTRIBUTES | windows.FILE_WRITE_EA |
			windows.STANDARD_RIGHTS_WRITE | windows.SYNCHRONIZE
	}
	attrs := uint32(windows.FILE_ATTRIBUTE_NORMAL)
	if perm&0o200 == 0 {
		attrs = windows.FILE_ATTRIBUTE_READONLY
	}
	attrs |= uint32(flag & oNoFollow)
	if access&(windows.GENERIC_WRITE|windows.FILE_APPEND_DATA) == 0 {
		attrs |= windows.FILE_FLAG_BACKUP_SEMANTICS // directories open only with it
	}
	var mode uint32
	switch {
	case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		mode = windows.CREATE_NEW
		attrs |= windows.FILE_FLAG_OPEN_REPARSE_POINT // never through a link
	case flag&os.O_CREATE != 0:
		mode = windows.OPEN_ALWAYS
	default:
		mode = windows.OPEN_EXISTING
	}
	var sa *windows.SecurityAttributes
	if flag&os.O_CREATE != 0 {
		if mode == windows.CREATE_NEW {
			// A replace gives its new file the old one's DACL; the
			// creator, its owner, may always.
			access |= windows.READ_CONTROL | windows.WRITE_DAC
		}
		if sa, err = createSecurity(uint32(perm.Perm())); err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
	h, err := windows.CreateFile(p, access, shareAll, sa, mode, attrs, 0)
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) && attrs&windows.FILE_FLAG_BACKUP_SEMANTICS == 0 {
			if a, aerr := windows.GetFileAttributes(p); aerr == nil && a&windows.FILE_ATTRIBUTE_DIRECTORY != 0 {
				err = syscall.EISDIR
			}
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	// Not CREATE_ALWAYS or TRUNCATE_EXISTING for O_TRUNC: those replace the
	// attributes of an existing file (go.dev/issue/38225). Truncating a
	// file just created changes nothing.
	if flag&os.O_TRUNC != 0 && mode != windows.CREATE_NEW {
		if err := windows.Ftruncate(h, 0); err != nil {
			windows.CloseHandle(h)
			return nil, &fs.PathError{Op: "truncate", Path: name, Err: err}
		}
	}
	return os.NewFile(uintptr(h), name), nil
}

// oNoFollow is O_NOFOLLOW: FILE_FLAG_OPEN_REPARSE_POINT, in the bits of the
// flag that openFile hands to CreateFile as they are.
const oNoFollow = windows.FILE_FLAG_OPEN_REPARSE_POINT

// renameFile is rename: a rename by handle refuses a directory newname by
// itself.
func renameFile(oldname, newname string) error { return rename(oldname, newname) }

func owner(fi fs.FileInfo) (uid, gid int, ok bool) {
	if o, isOwner := fi.Sys().(interface{ Owner() (int, int) }); isOwner {
		uid, gid = o.Owner()
		return uid, gid, true
	}
	return 0, 0, false
}

// links says nothing: a Windows FileInfo carries no link count.
func links(fs.FileInfo) (uint64, bool) { return 0, false }
