// Package follow follows the symbolic links a caller named, under the rule
// the Linux kernel applies with fs.protected_symlinks, on every platform.
//
// durable resolves a link at the end of a name itself (so that the file it
// leads to is replaced and the link kept), which hides the link from the
// kernel's own check. So the rule is applied here, at every hop: in a
// directory that is sticky and world-writable (/tmp, /var/tmp, a shared
// drop directory), a link is followed only if it belongs to this process's
// effective user or to the directory's owner. Anyone else's link there is
// a trap another user may have planted, and following it as root would let
// them choose which file gets written; the error then wraps both
// errs.ErrSymlink and syscall.EACCES (so errors.Is(err, fs.ErrPermission)
// holds).
//
// Links in the directory part of a name are resolved by the kernel as it
// opens the file (on Linux under its own protected_symlinks rule, where
// that is enabled).
package follow

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/durable-go/durable/internal/errs"
	"github.com/durable-go/durable/vfs"
)

// maxHops bounds a chain of links, as the kernel's 40.
const maxHops = 40

// Resolve returns the name of the file that name leads to, following the
// symbolic links at its end where Check allows. A name that does not exist
// is returned as it is. With refuse, a link is not followed at all: the
// error wraps errs.ErrSymlink. Errors are not wrapped with name: the caller
// does that with its own operation.
func Resolve(fsys vfs.FS, name string, refuse bool) (string, error) {
	p := filepath.Clean(name)
	for range maxHops {
		fi, err := fsys.Lstat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return p, nil
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		if refuse {
			return "", errs.ErrSymlink
		}
		if err := Check(fsys, p, fi); err != nil {
			return "", err
		}
		dest, err := fsys.Readlink(p)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(p), dest)
		}
		p = filepath.Clean(dest)
	}
	return "", syscall.ELOOP
}

// Check reports whether this process may follow the symbolic link at link,
// whose Lstat is fi: nil, or an error wrapping errs.ErrSymlink and
// syscall.EACCES when the link sits in a sticky world-writable directory
// and belongs to neither this process's effective user nor the directory's
// owner. Where owners are unknown in such a directory, it refuses.
func Check(fsys vfs.FS, link string, fi fs.FileInfo) error {
	dir := filepath.Dir(link)
	di, err := fsys.Stat(dir)
	if err != nil {
		return err
	}
	if !shared(di.Mode()) {
		return nil
	}
	lu, _, lok := vfs.Owner(fi)
	du, _, dok := vfs.Owner(di)
	me := os.Geteuid()
	if lok && dok && (lu == me || lu == du) {
		return nil
	}
	if !lok {
		lu = -1
	}
	if !dok {
		du = -1
	}
	return &unsafeLinkError{owner: lu, dirOwner: du, euid: me}
}

// shared reports a directory where anyone may create a name but only its
// owner may remove it: sticky and world-writable.
func shared(m fs.FileMode) bool {
	return m&fs.ModeSticky != 0 && m&0o002 != 0
}

type unsafeLinkError struct{ owner, dirOwner, euid int }

func (e *unsafeLinkError) Error() string {
	return fmt.Sprintf("symbolic link in a sticky world-writable directory not followed: "+
		"it belongs to uid %d, neither this process's (uid %d) nor the directory owner's (uid %d)",
		e.owner, e.euid, e.dirOwner)
}

func (e *unsafeLinkError) Unwrap() []error { return []error{errs.ErrSymlink, syscall.EACCES} }
