//go:build !windows

package journal

import (
	"path/filepath"

	"github.com/durable-go/durable/vfs"
)

// removeSegment removes the segment file name in dir, which DropBefore has
// dropped. Elsewhere than on Windows an open file never stops its removal.
func removeSegment(fsys vfs.FS, dir, name string) error {
	return fsys.Remove(filepath.Join(dir, name))
}
