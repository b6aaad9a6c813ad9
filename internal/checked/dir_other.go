//go:build !unix && !windows

package checked

import (
	"io/fs"
	"os"
)

// Elsewhere (plan9, wasm) there is neither O_NOFOLLOW nor a directory
// descriptor: the name is checked with Lstat, opened, and compared again,
// which narrows the race without closing it.
type dirHandle struct{ path string }

func openDir(path string) (dirHandle, error) {
	fi, err := os.Stat(path)
	if err == nil && !fi.IsDir() {
		err = &fs.PathError{Op: "open", Path: path, Err: fs.ErrInvalid}
	}
	return dirHandle{path}, err
}

// readDir lists the directory by its path, which the held handle keeps
// from being renamed or removed (Windows), or by path alone (elsewhere).
func (d dirHandle) readDir() ([]fs.DirEntry, error) { return os.ReadDir(d.path) }

func (d dirHandle) close() error               { return nil }
func (d dirHandle) stat() (fs.FileInfo, error) { return os.Stat(d.path) }

func (d dirHandle) open(path, name string, flag int) (*os.File, error) {
	if flag&(os.O_CREATE|os.O_TRUNC) != 0 {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrInvalid}
	}
	before, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || !Same(fi, before) {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: ErrChanged}
	}
	return f, nil
}

func (d dirHandle) remove(path, name string, want fs.FileInfo) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || !Same(fi, want) {
		return &fs.PathError{Op: "remove", Path: path, Err: ErrChanged}
	}
	return os.Remove(path)
}

func idOf(fs.FileInfo) (ID, bool) { return ID{}, false }

// sameFile has nothing to add to idOf here.
func sameFile(a, b fs.FileInfo) (same, ok bool) { return false, false }

// pin has nothing to do: stat has read the identity already.
func pin(fs.FileInfo) {}
