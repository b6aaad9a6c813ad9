//go:build unix

package sidecar

import (
	"errors"
	"io/fs"
	"syscall"

	"github.com/durable-go/durable/vfs"
)

// nonBlock makes an open return at once where a FIFO was planted; vfs.OS
// puts a regular file back in blocking mode.
const nonBlock = syscall.O_NONBLOCK

// inspect returns what the open file f says of itself, and how many names
// it has where that is known.
func inspect(f vfs.File) (fi fs.FileInfo, links uint64, known bool, err error) {
	if fi, err = f.Stat(); err != nil {
		return nil, 0, false, err
	}
	links, known = vfs.Links(fi)
	return fi, links, known, nil
}

// isLinkErrno reports the errors open(2) gives for O_NOFOLLOW on a link.
func isLinkErrno(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK) || isEFTYPE(err)
}

// syncOpenDir fsyncs the directory name through f, its open descriptor.
func syncOpenDir(_ vfs.FS, f vfs.File, _ string) error { return f.Sync() }
