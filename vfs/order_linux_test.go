package vfs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// On the OS: yes on xfs and on ext4 with its journal, the filesystems the
// power cuts run on; no on ext4 without a journal and on tmpfs.
func TestOrderedDirsOS(t *testing.T) {
	crashtest.ForEachLoop(t, 64, func(t *testing.T, m *crashtest.Mount) {
		if !vfs.OrderedDirs(vfs.OS{}, m.Dir) {
			t.Errorf("%s at %s: OrderedDirs is false", m.FSType, m.Dir)
		}
	})
	t.Run("ext4-no-journal", func(t *testing.T) {
		if ok, why := crashtest.PowerCutSupported(); !ok {
			t.Skip(why)
		}
		if ok, why := crashtest.FSSupported("ext4"); !ok {
			t.Skip(why)
		}
		dir := testdir.New(t)
		img, mnt := filepath.Join(dir, "img"), filepath.Join(dir, "mnt")
		run := func(args ...string) string {
			t.Helper()
			out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return strings.TrimSpace(string(out))
		}
		if err := os.WriteFile(img, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, 32<<20); err != nil {
			t.Fatal(err)
		}
		run("mkfs.ext4", "-q", "-F", "-O", "^has_journal", img)
		dev := run("losetup", "--find", "--show", img)
		t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
		if err := os.Mkdir(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		run("mount", "-t", "ext4", dev, mnt)
		t.Cleanup(func() { exec.Command("umount", mnt).Run() })
		if vfs.OrderedDirs(vfs.OS{}, mnt) {
			t.Error("ext4 without a journal: OrderedDirs is true")
		}
	})
	t.Run("tmpfs", func(t *testing.T) {
		if vfs.OrderedDirs(vfs.OS{}, testdir.TinyTmpfs(t, "1m")) {
			t.Error("tmpfs: OrderedDirs is true")
		}
	})
}
