package crashtest

import (
	"testing"

	"github.com/durable-go/durable/internal/testdir"
)

// ForEachLoop runs fn as a subtest named after each filesystem power cuts
// run on, ext4 and xfs (both can be shut down without flushing their log:
// xfs_io's shutdown, which ext4 accepts too), on a loop mount of sizeMB made for the subtest and removed
// after it, whatever happens. t is skipped, saying why, where power cuts
// cannot run (not root, no loop devices, no xfs_io); a subtest is skipped
// where its filesystem is missing.
func ForEachLoop(t *testing.T, sizeMB int, fn func(t *testing.T, m *Mount)) {
	t.Helper()
	if ok, why := PowerCutSupported(); !ok {
		t.Skip("no power cuts: " + why)
	}
	for _, fstype := range []string{"ext4", "xfs"} {
		t.Run(fstype, func(t *testing.T) {
			if ok, why := FSSupported(fstype); !ok {
				t.Skip("no power cuts on " + fstype + ": " + why)
			}
			m, err := NewLoop(testdir.New(t), fstype, sizeMB)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := m.Close(); err != nil {
					t.Errorf("cleaning up the %s mount: %v", fstype, err)
				}
			})
			fn(t, m)
		})
	}
}
