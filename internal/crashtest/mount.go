package crashtest

import (
	"bytes"
	"io"
	"os/exec"
)

// Mount is a filesystem image mounted through a loop device, which the
// harness can shut down as a power cut would and mount again. Only Linux
// has one (see PowerCutSupported); elsewhere NewLoop fails.
type Mount struct {
	// Dir is where the filesystem is mounted.
	Dir string
	// FSType is "ext4" or "xfs".
	FSType string

	image   string
	dev     string
	mounted bool
	// xfs_io waiting for its shutdown command (see arm).
	xfsIO    *exec.Cmd
	xfsIOIn  io.WriteCloser
	xfsIOErr *bytes.Buffer
}
