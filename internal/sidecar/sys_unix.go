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

// links returns how many names the open file has.
func links(_ vfs.File, fi fs.FileInfo) (uint64, bool) {
	switch st := fi.Sys().(type) {
	case *syscall.Stat_t:
		return uint64(st.Nlink), true
	case *vfs.MemStat:
		return uint64(st.Nlink), true
	}
	return 0, false
}

// isLinkErrno reports the errors open(2) gives for O_NOFOLLOW on a link.
func isLinkErrno(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK) || isEFTYPE(err)
}
