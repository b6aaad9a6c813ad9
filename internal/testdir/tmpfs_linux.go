package testdir

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TinyTmpfs mounts a tmpfs of size bytes (a mount option such as "64k")
// in a fresh directory for the test, for full-disk tests, and unmounts it
// when the test ends, whatever happens (lazily, and failing the test, if a
// plain umount is refused). It skips the test, saying why, when not root
// or when the mount fails; CI runs as root.
func TinyTmpfs(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("full-disk test needs root to mount a tiny tmpfs (CI runs it as root)")
	}
	mnt := filepath.Join(New(t), "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			exec.Command("umount", "-l", mnt).Run()
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	return mnt
}
