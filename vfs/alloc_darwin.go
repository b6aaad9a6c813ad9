package vfs

import (
	"errors"
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
	return fdCall(f, "fallocate", func(fd int) error {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Size >= size {
			return err
		}
		// Blocks is in 512-byte units: what is allocated already,
		// which may be more than the logical size.
		if need := size - st.Blocks*512; need > 0 {
			store := unix.Fstore_t{Flags: unix.F_ALLOCATECONTIG | unix.F_ALLOCATEALL, Posmode: unix.F_PEOFPOSMODE, Length: need}
			err := ignoringEINTR(func() error { return unix.FcntlFstore(uintptr(fd), unix.F_PREALLOCATE, &store) })
			if err != nil && !errors.Is(err, syscall.ENOTSUP) {
				store.Flags = unix.F_ALLOCATEALL
				err = ignoringEINTR(func() error { return unix.FcntlFstore(uintptr(fd), unix.F_PREALLOCATE, &store) })
			}
			if errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EINVAL) {
				return errNoPreallocate
			}
			if err != nil {
				return err
			}
		}
		return unix.Ftruncate(fd, size)
	}, errNoPreallocate)
}

// errNoPreallocate is a filesystem that cannot F_PREALLOCATE.
var errNoPreallocate = errors.New("F_PREALLOCATE is not supported")

// datasync has no cheaper call here than File.Sync's F_FULLFSYNC: macOS's
// fdatasync does not flush the drive's cache either.
func datasync(File) (bool, error) { return false, nil }
