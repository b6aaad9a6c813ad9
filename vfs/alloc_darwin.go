package vfs

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// allocate reserves space with fcntl(F_PREALLOCATE), then sets the size
// with ftruncate: on APFS an extension by ftruncate alone is sparse,
// reserves nothing, and a full disk would surface in the middle of later
// writes. F_PREALLOCATE allocates past the physical end of the file
// (F_PEOFPOSMODE), contiguous space first and then any. A filesystem that
// cannot (ENOTSUP, as on SMB mounts) falls back to Truncate in the caller.
func allocate(f File, size int64) (bool, error) {
	of, ok := f.(*os.File)
	if !ok {
		return false, nil
	}
	rc, err := of.SyscallConn()
	if err != nil {
		return true, err
	}
	var serr error
	unsupported := false
	if err := rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if serr = unix.Fstat(int(fd), &st); serr != nil {
			return
		}
		if st.Size >= size {
			return
		}
		// Blocks is in 512-byte units: what is allocated already,
		// which may be more than the logical size.
		need := size - st.Blocks*512
		if need > 0 {
			store := unix.Fstore_t{Flags: unix.F_ALLOCATECONTIG | unix.F_ALLOCATEALL, Posmode: unix.F_PEOFPOSMODE, Length: need}
			serr = ignoringEINTR(func() error { return unix.FcntlFstore(fd, unix.F_PREALLOCATE, &store) })
			if serr != nil && !errors.Is(serr, syscall.ENOTSUP) {
				store.Flags = unix.F_ALLOCATEALL
				serr = ignoringEINTR(func() error { return unix.FcntlFstore(fd, unix.F_PREALLOCATE, &store) })
			}
			if errors.Is(serr, syscall.ENOTSUP) || errors.Is(serr, syscall.EINVAL) {
				unsupported = true
				return
			}
			if serr != nil {
				return
			}
		}
		serr = ignoringEINTR(func() error { return unix.Ftruncate(int(fd), size) })
	}); err != nil {
		return true, err
	}
	if unsupported {
		return false, nil
	}
	return true, pathErr("fallocate", of.Name(), serr)
}

// datasync has no cheaper call here than File.Sync's F_FULLFSYNC: macOS's
// fdatasync does not flush the drive's cache either.
func datasync(File) (bool, error) { return false, nil }

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
