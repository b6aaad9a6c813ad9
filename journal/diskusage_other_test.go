//go:build !unix

package journal

import "io/fs"

// diskUsage is what the file holds on disk, as far as its size tells.
func diskUsage(fi fs.FileInfo) int64 { return fi.Size() }
