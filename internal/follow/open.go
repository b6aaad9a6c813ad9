package follow

import (
	"errors"
	"io/fs"

	"github.com/durable-go/durable/vfs"
)

// Open opens name with flag, following links at its end only where Check
// allows, and returns the file and the name it was opened under. On the
// real filesystem it costs no more than the open itself: it opens with
// O_NOFOLLOW, and only when that finds a link does it resolve the name and
// open the result, again with O_NOFOLLOW, so that a link planted between
// the two is never followed blindly. Other filesystems (models, wrappers)
// are resolved first, then opened.
func Open(fsys vfs.FS, name string, flag int, perm fs.FileMode) (vfs.File, string, error) {
	if _, ok := fsys.(vfs.OS); ok {
		if noFollow == 0 {
			// No sticky directories, so nothing to check (Windows).
			f, err := fsys.OpenFile(name, flag, perm)
			return f, name, err
		}
		p := name
		for range maxHops {
			f, err := fsys.OpenFile(p, flag|noFollow, perm)
			if err == nil || !maybeLink(fsys, p, err) {
				return f, p, err
			}
			next, rerr := Resolve(fsys, p, false)
			if rerr != nil {
				return nil, p, &fs.PathError{Op: "open", Path: name, Err: rerr}
			}
			if next == p {
				return nil, p, err // not a link at the end: ELOOP from inside the path
			}
			p = next
		}
		return nil, p, &fs.PathError{Op: "open", Path: name, Err: errTooMany}
	}
	p, err := Resolve(fsys, name, false)
	if err != nil {
		return nil, name, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	f, err := fsys.OpenFile(p, flag, perm)
	return f, p, err
}

// maybeLink reports whether the open of p failed because p is a link:
// ELOOP (EMLINK on FreeBSD), or on Linux EACCES for an O_CREAT open of a
// link in a sticky directory, which the kernel refuses before it looks at
// O_NOFOLLOW. Only then is it worth a look.
func maybeLink(fsys vfs.FS, p string, err error) bool {
	if isLinkErr(err) {
		return true
	}
	if !errors.Is(err, fs.ErrPermission) {
		return false
	}
	fi, lerr := fsys.Lstat(p)
	return lerr == nil && fi.Mode()&fs.ModeSymlink != 0
}

var errTooMany = errors.New("too many levels of symbolic links")

// Dir checks that the directory name dir, which a journal or a queue is
// opened in, may be entered: a link at its end is followed only where
// Check allows. A dir that does not exist passes (it will be created, and
// a link planted after that fails the create).
func Dir(fsys vfs.FS, dir string) error {
	_, err := Resolve(fsys, dir, false)
	return err
}
