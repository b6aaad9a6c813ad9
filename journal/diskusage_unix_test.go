//go:build unix

package journal

import (
	"io/fs"
	"syscall"
)

// diskUsage is what the file holds on disk: its blocks.
func diskUsage(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return fi.Size()
}
