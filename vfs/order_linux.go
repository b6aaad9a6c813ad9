package vfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// orderedDirs knows xfs, whose log is always there, and ext4 with a
// journal. ext4 without one (mkfs -O ^has_journal, or ext2 mounted by the
// ext4 driver, both with ext4's magic number) writes metadata back in any
// order, so the journal is looked for: /sys/fs/ext4/<device>/journal_task
// names the journal's thread, or "<none>". Anything not found is "no".
func orderedDirs(dir string) bool {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return false
	}
	switch uint32(fs.Type) {
	case unix.XFS_SUPER_MAGIC:
		return true
	case unix.EXT4_SUPER_MAGIC:
		return ext4Journaled(dir)
	}
	return false
}

func ext4Journaled(dir string) bool {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return false
	}
	// The block device's name, as ext4 names its sysfs directory.
	dev, err := os.Readlink(fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)))
	if err != nil {
		return false
	}
	task, err := os.ReadFile(filepath.Join("/sys/fs/ext4", filepath.Base(dev), "journal_task"))
	if err != nil {
		return false
	}
	t := strings.TrimSpace(string(task))
	return t != "" && t != "<none>"
}
