//go:build !unix

package bench

import (
	"io/fs"
	"os"
)

// maxRSS is unknown here: os.ProcessState does not carry it.
func maxRSS(*os.ProcessState) int64 { return 0 }

func allocated(fi fs.FileInfo) int64 { return fi.Size() }
