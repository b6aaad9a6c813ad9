package durable

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// Extended attributes (and with them POSIX ACLs, which Linux keeps in
// xattrs) belong to the inode, so a replace by rename would drop them. The
// temp file gets the old file's before it is published, never after: the
// ACL and the other attributes while it is still empty (an ACL narrows
// what the mode's group bits say, so data never sits under the wider
// mode), and a Linux file capability after the last write (a write clears
// it) and before the fsync. What each platform keeps is decided in
// xattr_<os>.go, behind four functions:
//
//	listXattrs(path, buf) (names, error)  the names worth keeping, not following a link
//	getXattr(path, name, buf) (value, error)
//	setXattr(fd, name, value) error
//	xattrUnsupported(err) bool           the filesystem has none
//
// and the policy: which names are kept (keptXattr), and which only when
// the privilege to set them is there (bestEffortXattr).

// xattr is one extended attribute to give the new version.
type xattr struct {
	name  string
	value []byte
}

// oldXattrs reads the attributes of the file at target that a replace
// keeps. With none, as for most files, it costs one listxattr; isRoot is
// asked only when there are some.
func oldXattrs(target string, isRoot func() bool) ([]xattr, error) {
	var buf [512]byte
	names, err := listXattrs(target, buf[:])
	if err != nil {
		if xattrUnsupported(err) || errors.Is(err, syscall.ENOENT) {
			return nil, nil
		}
		return nil, &os.PathError{Op: "listxattr", Path: target, Err: err}
	}
	if len(names) == 0 {
		return nil, nil
	}
	root := isRoot()
	var attrs []xattr
	for _, name := range names {
		if !keptXattr(name, root) {
			continue
		}
		v, err := getXattr(target, name)
		if err != nil {
			if errors.Is(err, errNoAttr) {
				continue // removed meanwhile
			}
			if errors.Is(err, fs.ErrPermission) {
				// Linux lets only readers of a file read its user.*
				// attributes; a writer who may not (who replaces a
				// file it cannot read) does not keep them. ACLs are
				// readable by all.
				continue
			}
			return nil, &os.PathError{Op: "getxattr " + name, Path: target, Err: err}
		}
		attrs = append(attrs, xattr{name, v})
	}
	return attrs, nil
}

// setXattrs gives the open file f the attributes attrs. A filesystem that
// cannot hold one is not an error (the old file was on the same one, so
// that is a platform limit, documented), nor is root lacking the privilege
// for a root-only one (root in a container without CAP_SETFCAP: dropping a
// file capability only takes privilege away); any other failure is: a
// dropped ACL could widen access.
func setXattrs(f *os.File, attrs []xattr) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		for _, a := range attrs {
			err := setXattr(int(fd), a.name, a.value)
			if err != nil && (xattrUnsupported(err) || bestEffortXattr(a.name) && errors.Is(err, syscall.EPERM)) {
				err = nil
			}
			if err != nil {
				serr = &os.PathError{Op: "setxattr " + a.name, Path: f.Name(), Err: err}
				return
			}
		}
	})
	if err == nil {
		err = serr
	}
	return err
}
