package fsck

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/durable-go/durable/internal/checked"
	"github.com/durable-go/durable/vfs"
)

// dirRef is a directory as the walk found it: a repair compares the
// directory it opens with it, so that a directory swapped for a link
// meanwhile is noticed.
type dirRef struct {
	path string
	info fs.FileInfo
}

// openDir opens the directory of e, checking that it is still the one the
// walk went through.
func openDir(d *dirRef) (*checked.Dir, error) {
	dir, err := checked.OpenDir(d.path)
	if err != nil {
		return nil, err
	}
	fi, err := dir.Stat()
	if err == nil && !fi.IsDir() || err == nil && !checked.Same(fi, d.info) {
		err = &fs.PathError{Op: "open", Path: d.path, Err: checked.ErrChanged}
	}
	if err != nil {
		dir.Close()
		return nil, err
	}
	return dir, nil
}

// openEntry opens e, relative to its directory and without following a
// link or blocking on a FIFO, and checks that it is still the file the
// walk found. Every read and every repair of a file goes through it:
// what is read is what was listed, and what is changed is what was
// checked.
func openEntry(e *entry, flag int) (*os.File, fs.FileInfo, error) {
	dir, err := openDir(e.dir)
	if err != nil {
		return nil, nil, err
	}
	defer dir.Close()
	return dir.OpenChecked(e.name, flag, e.info)
}

// singleLink refuses a file with other names: a change in place (a mode,
// a cut) would reach them too, and they may be anywhere on the
// filesystem, outside the tree fsck was asked to check.
func singleLink(fi fs.FileInfo) error {
	if n, ok := vfs.Links(fi); ok && n > 1 {
		return fmt.Errorf("it has %d hard links, which may be outside the checked tree; left alone (repair it by hand)", n)
	}
	return nil
}
