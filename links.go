package durable

import (
	"io/fs"

	"github.com/durable-go/durable/vfs"
)

// refuseLinked returns ErrHardLinked when NoSplitLinks is set and the file
// name, described by fi, has other names that a replace would split off.
func (o *options) refuseLinked(name string, fi fs.FileInfo) error {
	if !o.noSplitLinks {
		return nil
	}
	if n, ok := linkCount(o.fs, name, fi); ok && n > 1 {
		return ErrHardLinked
	}
	return nil
}

// linkCount returns how many names the file has, if the platform says.
func linkCount(fsys vfs.FS, name string, fi fs.FileInfo) (uint64, bool) {
	if n, ok := vfs.Links(fi); ok {
		return n, true
	}
	return osLinkCount(fsys, name, fi)
}
