//go:build !windows

package durable

import (
	"io/fs"

	"github.com/durable-go/durable/vfs"
)

func osLinkCount(vfs.FS, string, fs.FileInfo) (uint64, bool) { return 0, false }
