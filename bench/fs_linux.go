//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// fsNames maps statfs magic numbers to names, for the filesystems a
// benchmark is likely to meet (linux/magic.h).
var fsNames = map[int64]string{
	0xEF53:     "ext2/3/4",
	0x58465342: "xfs",
	0x9123683E: "btrfs",
	0x01021994: "tmpfs",
	0x794C7630: "overlayfs",
	0x2FC12FC1: "zfs",
	0xF2F52010: "f2fs",
	0x6969:     "nfs",
	0xFF534D42: "cifs",
	0x65735546: "fuse",
	0x4D44:     "vfat",
	0x5346544E: "ntfs",
	0x01021997: "9p",
	0x858458F6: "ramfs",
	0x73717368: "squashfs",
	0xCA451A4E: "bcachefs",
}

// filesystem returns the statfs type of dir and, from mountinfo, the type,
// device and mount options of the mount holding it.
func filesystem(dir string) (fs, mountFS, mount string) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "unknown (" + err.Error() + ")", "", ""
	}
	t := int64(st.Type) & 0xFFFFFFFF
	name, ok := fsNames[t]
	if !ok {
		name = "unknown"
	}
	fs = fmt.Sprintf("%s (magic %#x)", name, t)
	mountFS, mount = mountOf(dir)
	return fs, mountFS, mount
}

// mountOf finds the mount point holding dir in /proc/self/mountinfo and
// returns its type and "type on device, mounted at point (options)".
func mountOf(dir string) (fsType, desc string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", ""
	}
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	bestLen := -1
	for line := range strings.Lines(string(b)) {
		// id parent major:minor root mountpoint options ... - type source superoptions
		pre, post, ok := strings.Cut(strings.TrimSpace(line), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 6 || len(g) < 3 {
			continue
		}
		mp := unescapeMount(f[4])
		if !within(dir, mp) || len(mp) <= bestLen {
			continue
		}
		fsType, bestLen = g[0], len(mp)
		desc = fmt.Sprintf("%s on %s, mounted at %s (%s; %s)", g[0], g[1], mp, f[5], g[2])
	}
	return fsType, desc
}

func within(dir, mp string) bool {
	return mp == "/" || dir == mp || strings.HasPrefix(dir, mp+"/")
}

// unescapeMount undoes mountinfo's octal escapes of space, tab, newline
// and backslash.
func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}
