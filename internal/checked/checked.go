// Package checked lets a repair act on exactly the file it checked.
//
// A check by path followed by an action by path is a race that another
// user who can write the directory wins: between the two, the name can be
// swapped for a symbolic link, a hard link to a file elsewhere or a FIFO
// (renameat2 with RENAME_EXCHANGE makes the swap atomic). So names are
// looked up relative to a directory held open (Dir), never through a
// symbolic link in their last component, and an open never blocks on a
// FIFO; a file is then compared by its identity (device and inode, from
// fstat) with what was checked, and changed only through its descriptor
// (File.Chmod is fchmod). A name is removed only after fstatat, relative
// to the same directory and without following links, has found the
// identity that was checked.
//
// On Unix (golang.org/x/sys/unix) this is openat with O_NOFOLLOW and
// O_NONBLOCK, fstatat with AT_SYMLINK_NOFOLLOW and unlinkat. On Windows the
// directory is held open by handle without FILE_SHARE_DELETE, so it cannot
// be renamed or removed meanwhile; names are opened by path below it with
// FILE_FLAG_OPEN_REPARSE_POINT (a link is opened, never followed, and
// refused), compared by volume serial number and file index, and removed
// through the handle that was compared (FileDispositionInfo). That is
// weaker in one way: the name is looked up by path, not relative to the
// directory handle, so a parent directory renamed while the handle is held
// could redirect the lookup; the comparison of identities still refuses to
// act on any file other than the one checked.
package checked

import (
	"errors"
	"io/fs"
	"os"
)

// ErrNotRegular is returned for a name that is not a regular file: a
// symbolic link, a FIFO, a directory, a device.
var ErrNotRegular = errors.New("not a regular file")

// ErrChanged is returned when a name no longer names the file that was
// checked.
var ErrChanged = errors.New("replaced since it was checked")

// ID identifies a file: its device and inode (on Windows, the volume
// serial number and file index).
type ID struct{ Dev, Ino uint64 }

// IDOf returns the identity of a file described by a FileInfo from
// os.Lstat, os.Stat, (*os.File).Stat or Dir.Lstat, and whether the platform
// gives one.
func IDOf(fi fs.FileInfo) (ID, bool) { return idOf(fi) }

// Lstat describes path without following a link in its last component, as
// os.Lstat does, with the file's identity read now: on Windows os.Lstat
// leaves the volume serial number and file index to be read by path when
// first compared, which would compare whatever the name names by then, and
// a directory listing's Info has none under Wine. Describe what a repair
// will later compare (OpenChecked, Remove, Same) with Lstat or Stat.
func Lstat(path string) (fs.FileInfo, error) {
	fi, err := os.Lstat(path)
	if err == nil {
		pin(fi)
	}
	return fi, err
}

// Stat is Lstat, following links in path.
func Stat(path string) (fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err == nil {
		pin(fi)
	}
	return fi, err
}

// Dir is an open directory in which names are looked up.
type Dir struct {
	path string
	h    dirHandle
}

// OpenDir opens the directory path (following links in path, as named by
// the caller). Close it when done.
func OpenDir(path string) (*Dir, error) {
	h, err := openDir(path)
	if err != nil {
		return nil, err
	}
	return &Dir{path: path, h: h}, nil
}

// ReadDir lists the open directory (not whatever its path names by now),
// sorted by name.
func (d *Dir) ReadDir() ([]fs.DirEntry, error) { return d.h.readDir() }

// Path is the path the directory was opened by.
func (d *Dir) Path() string { return d.path }

// Close closes the directory.
func (d *Dir) Close() error { return d.h.close() }

// Stat describes the open directory itself: compare it with what a walk
// found to know that the directory is still the one that was checked.
func (d *Dir) Stat() (fs.FileInfo, error) { return d.h.stat() }

// Open opens the regular file name in d for flag (os.O_RDONLY, os.O_RDWR,
// os.O_APPEND...; never O_CREATE) without following a symbolic link and
// without blocking on a FIFO. Anything but a regular file is refused with
// an error wrapping ErrNotRegular.
func (d *Dir) Open(name string, flag int) (*os.File, error) {
	if err := checkName(name); err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.join(name), Err: err}
	}
	return d.h.open(d.join(name), name, flag)
}

// OpenChecked opens name as Open does and checks that it is the file want
// describes (its identity, where the platform has one). It returns the
// open file and what fstat says of it.
func (d *Dir) OpenChecked(name string, flag int, want fs.FileInfo) (*os.File, fs.FileInfo, error) {
	f, err := d.Open(name, flag)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !Same(fi, want) {
		err = &fs.PathError{Op: "open", Path: d.join(name), Err: ErrChanged}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// Remove removes the name from d only while it is still the regular file
// want describes. Removing a name never follows a link, and the lookup is
// relative to d, so nothing outside d is ever removed.
func (d *Dir) Remove(name string, want fs.FileInfo) error {
	if err := checkName(name); err != nil {
		return &fs.PathError{Op: "remove", Path: d.join(name), Err: err}
	}
	return d.h.remove(d.join(name), name, want)
}

// Same reports whether two FileInfos describe the same file, by identity
// where the platform has one, or else by size and modification time.
func Same(a, b fs.FileInfo) bool {
	ia, oka := IDOf(a)
	ib, okb := IDOf(b)
	if oka && okb {
		return ia == ib
	}
	if same, ok := sameFile(a, b); ok {
		return same
	}
	return a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

func (d *Dir) join(name string) string { return d.path + string(os.PathSeparator) + name }

// checkName refuses anything but a plain name: a lookup relative to the
// directory must stay in it.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." {
		return fs.ErrInvalid
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == os.PathSeparator || name[i] == 0 {
			return fs.ErrInvalid
		}
	}
	return nil
}
