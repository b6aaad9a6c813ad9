//go:build !linux && !openbsd && !darwin && !freebsd && !netbsd && !dragonfly

package fsck

import (
	"os"
	"time"
)

// changeTime is unknown here: the modification time stands alone.
func changeTime(os.FileInfo) (time.Time, bool) { return time.Time{}, false }

// fileIdentity is unknown here; only Linux uses it, to match /proc.
func fileIdentity(os.FileInfo) (fileID, uint32, bool) { return fileID{}, 0, false }
