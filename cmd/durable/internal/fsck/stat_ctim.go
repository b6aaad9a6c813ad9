//go:build linux || openbsd || dragonfly

package fsck

import "syscall"

func ctimespec(st *syscall.Stat_t) syscall.Timespec { return st.Ctim }
