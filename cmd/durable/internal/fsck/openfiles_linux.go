package fsck

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// scanOpenFiles looks at every process's open files in /proc for temp
// files (names ending in ".tmp"), matching them by device and inode. A
// process whose descriptors cannot be read (another user's, when not
// root; a non-dumpable one, which /proc shows as root's) is counted by
// the user /proc shows it as.
func scanOpenFiles() *openFiles {
	of := &openFiles{open: map[fileID]bool{}, hidden: map[uint32]int{}}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		of.why = "/proc cannot be read: " + err.Error()
		return of
	}
	for _, p := range procs {
		if !isDigits(p.Name()) {
			continue
		}
		pdir := "/proc/" + p.Name()
		fds, err := os.ReadDir(pdir + "/fd")
		if err != nil {
			var st syscall.Stat_t
			if !os.IsNotExist(err) && syscall.Stat(pdir, &st) == nil {
				of.hidden[st.Uid]++
			}
			continue // or it exited meanwhile
		}
		for _, fd := range fds {
			fdPath := pdir + "/fd/" + fd.Name()
			link, err := os.Readlink(fdPath)
			if err != nil || !isTempName(filepath.Base(strings.TrimSuffix(link, " (deleted)"))) {
				continue
			}
			var st syscall.Stat_t
			if syscall.Stat(fdPath, &st) == nil {
				of.open[fileID{uint64(st.Dev), uint64(st.Ino)}] = true
			}
		}
	}
	of.ok = true
	return of
}
