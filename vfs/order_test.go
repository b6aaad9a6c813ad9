package vfs_test

import (
	"testing"

	"github.com/durable-go/durable/vfs"
)

// OrderedDirs says yes on a MemFS only under the ordered crash model, and
// never through a wrapper.
func TestOrderedDirsMem(t *testing.T) {
	m := vfs.NewMem()
	if vfs.OrderedDirs(m, "/") {
		t.Error("a MemFS under the POSIX model orders its directories")
	}
	m.SetCrashModel(vfs.CrashModel{Dirs: vfs.DirsOrdered})
	if !vfs.OrderedDirs(m, "/") {
		t.Error("a MemFS under the ordered model does not order its directories")
	}
	if vfs.OrderedDirs(vfs.Inject(m), "/") {
		t.Error("a wrapper of an ordered MemFS orders its directories")
	}
}
