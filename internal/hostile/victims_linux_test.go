//go:build linux

package hostile

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// An entry is what is compared of a victim: everything but its times of
// access and status change and its link count (a hard link planted or
// removed changes those).
type entry struct {
	mode     fs.FileMode
	uid, gid uint32
	size     int64
	mtime    time.Time
	sum      [32]byte
	target   string
}

func snapshot(dir string) map[string]entry {
	m := map[string]entry{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := entry{mode: fi.Mode(), uid: st.Uid, gid: st.Gid, mtime: fi.ModTime(), size: fi.Size()}
		switch {
		case fi.Mode().IsRegular():
			if b, err := os.ReadFile(p); err == nil {
				e.sum = sha256.Sum256(b)
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			e.target, _ = os.Readlink(p)
		case fi.IsDir():
			e.size = 0 // a directory's size says nothing
		}
		m[p] = e
		return nil
	})
	return m
}

// diff lists what changed between two snapshots. Below follow (a link
// target the caller may follow by design) content may change and files
// may appear, but no existing file's mode or owner may change.
func diff(before, after map[string]entry, follow string, setsMode bool) []string {
	var out []string
	allowed := func(p string) bool {
		return follow != "" && (p == follow || strings.HasPrefix(p, follow+"/"))
	}
	for p, a := range after {
		b, ok := before[p]
		switch {
		case !ok && !allowed(p):
			out = append(out, fmt.Sprintf("%s: created (mode %v, owner %d:%d)", p, a.mode, a.uid, a.gid))
		case !ok:
		case a.mode != b.mode && !(setsMode && allowed(p)):
			out = append(out, fmt.Sprintf("%s: mode %v -> %v", p, b.mode, a.mode))
		case a.uid != b.uid || a.gid != b.gid:
			out = append(out, fmt.Sprintf("%s: owner %d:%d -> %d:%d", p, b.uid, b.gid, a.uid, a.gid))
		case allowed(p):
		case a.sum != b.sum || a.size != b.size:
			out = append(out, fmt.Sprintf("%s: content changed (%d -> %d bytes)", p, b.size, a.size))
		case !a.mtime.Equal(b.mtime) && !b.mode.IsDir():
			out = append(out, fmt.Sprintf("%s: modified (mtime)", p))
		case !a.mtime.Equal(b.mtime):
			out = append(out, fmt.Sprintf("%s: entries created or removed in it", p))
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok && !allowed(p) {
			out = append(out, p+": removed")
		}
	}
	slices.Sort(out)
	return out
}

// victimFiles lists the regular files among the victims.
func victimFiles(dir string) []string {
	var out []string
	for p, e := range snapshot(dir) {
		if e.mode.IsRegular() {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// lockedVictims lists victims some process holds a lock on.
func lockedVictims(dir string) []string {
	var out []string
	for _, p := range victimFiles(dir) {
		if isLocked(p) {
			out = append(out, p)
		}
	}
	return out
}

// isLocked reports whether a process holds a lock of either kind package
// lock may take on p: an open file description lock (fcntl F_OFD_SETLK,
// which F_OFD_GETLK reports, with POSIX record locks) or a flock.
func isLocked(p string) bool {
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	if unix.FcntlFlock(uintptr(fd), unix.F_OFD_GETLK, &lk) == nil && lk.Type != unix.F_UNLCK {
		return true
	}
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err == syscall.EWOULDBLOCK {
		return true
	} else if err == nil {
		syscall.Flock(fd, syscall.LOCK_UN)
	}
	return false
}
