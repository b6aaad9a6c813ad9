//go:build windows

package vfs

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// syncDir makes the entries of directory name durable by flushing a file
// handle in it: it creates a hidden file there (named like durable's temp
// files, so that CleanTemp and fsck remove one a crash leaves behind),
// flushes it with FlushFileBuffers and closes it, which deletes it.
//
// Windows has no directory fsync. Microsoft documents FlushFileBuffers
// only as writing a file's buffered data, for handles with write access;
// a directory handle cannot have that, and its flush is refused (Wine:
// access denied) or, on FastFAT, a no-op. On NTFS a file's flush commits
// the metadata log, which holds the creates, renames, links and removes
// done in the directory before it, up to the new file's own creation. That
// is NTFS's behaviour, not a documented promise; see the README's
// platform table.
func syncDir(name string) error {
	dir, err := utf16Ptr(name)
	if err != nil {
		return &fs.PathError{Op: "sync", Path: name, Err: err}
	}
	a, err := windows.GetFileAttributes(dir)
	if err != nil {
		return &fs.PathError{Op: "sync", Path: name, Err: err}
	}
	if a&windows.FILE_ATTRIBUTE_DIRECTORY == 0 {
		return &fs.PathError{Op: "sync", Path: name, Err: windows.ERROR_DIRECTORY}
	}
	for range 10 {
		p := filepath.Join(name, syncFileName())
		f, err := utf16Ptr(p)
		if err != nil {
			return &fs.PathError{Op: "sync", Path: name, Err: err}
		}
		h, err := windows.CreateFile(f, windows.GENERIC_WRITE|windows.DELETE, shareAll, nil, windows.CREATE_NEW,
			windows.FILE_ATTRIBUTE_HIDDEN|windows.FILE_FLAG_DELETE_ON_CLOSE|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
		if errors.Is(err, windows.ERROR_FILE_EXISTS) || errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "sync", Path: name, Err: err}
		}
		err = windows.FlushFileBuffers(h)
		if cerr := windows.CloseHandle(h); err == nil {
			err = cerr
		}
		if err != nil {
			return &fs.PathError{Op: "sync", Path: name, Err: err}
		}
		return nil
	}
	return &fs.PathError{Op: "sync", Path: name, Err: windows.ERROR_FILE_EXISTS}
}

// syncFileName is ".dirsync.<12 base32 characters>.tmp", the shape of
// durable's temp file names (internal/sidecar.TempName).
func syncFileName() string {
	const chars = "abcdefghijklmnopqrstuvwxyz234567"
	token := make([]byte, 12)
	for i := range token {
		token[i] = chars[rand.N(len(chars))]
	}
	return ".dirsync." + string(token) + ".tmp"
}
