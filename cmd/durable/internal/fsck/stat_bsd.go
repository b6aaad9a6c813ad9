//go:build darwin || freebsd || netbsd

package fsck

import "syscall"

func ctimespec(st *syscall.Stat_t) syscall.Timespec { return st.Ctimespec }
