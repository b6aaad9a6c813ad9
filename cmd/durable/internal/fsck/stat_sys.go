//go:build linux || openbsd || dragonfly || darwin || freebsd || netbsd

package fsck

import (
	"os"
	"syscall"
	"time"
)

// changeTime and fileIdentity read the stat buffer the same way on every
// Unix fsck knows; only the field holding the change time is spelled
// differently (ctimespec, in stat_bsd.go and stat_ctim.go).
func changeTime(fi os.FileInfo) (time.Time, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}, false
	}
	ts := ctimespec(st)
	return time.Unix(int64(ts.Sec), int64(ts.Nsec)), true
}

func fileIdentity(fi os.FileInfo) (fileID, uint32, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, 0, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, st.Uid, true
}
