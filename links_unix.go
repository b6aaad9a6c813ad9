//go:build unix

package durable

import (
	"io/fs"
	"syscall"

	"github.com/durable-go/durable/vfs"
)

func osLinkCount(_ vfs.FS, _ string, fi fs.FileInfo) (uint64, bool) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink), true
	}
	return 0, false
}
