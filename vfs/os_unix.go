//go:build unix

package vfs

import (
	"io/fs"
	"os"
	"syscall"
)

func openFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag|syscall.O_CLOEXEC, perm)
}

func rename(oldname, newname string) error { return os.Rename(oldname, newname) }

// syncDir opens the directory read-only (a directory cannot be opened for
// writing) and fsyncs it; on macOS os.File.Sync uses F_FULLFSYNC.
func syncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func owner(fi fs.FileInfo) (uid, gid int, ok bool) {
	if st, isStat := fi.Sys().(*syscall.Stat_t); isStat {
		return int(st.Uid), int(st.Gid), true
	}
	if o, isOwner := fi.Sys().(interface{ Owner() (int, int) }); isOwner {
		uid, gid = o.Owner()
		return uid, gid, true
	}
	return 0, 0, false
}
