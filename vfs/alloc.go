package vfs

import (
	"io/fs"
)

// Allocator is implemented by files that can reserve disk space for their
// first size bytes without writing them (fallocate on Linux). Allocate
// never shrinks a file.
type Allocator interface {
	Allocate(size int64) error
}

// DataSyncer is implemented by files that can flush their data without
// committing metadata that reading the data does not need (fdatasync): the
// cheap flush for overwriting a preallocated file in place.
type DataSyncer interface {
	Datasync() error
}

// Allocate makes f at least size bytes long, with the space reserved where
// the platform can: fallocate(2) mode 0 on Linux and fcntl(F_PREALLOCATE)
// on macOS for a file of the real OS,
// the file's own Allocate if it implements Allocator, and otherwise an
// extension with Truncate (which reserves nothing on most filesystems: a
// later write into the hole may still fail with ENOSPC). It never shrinks
// f. The new size, like any size change, is durable only after File.Sync.
func Allocate(f File, size int64) error {
	if a, ok := f.(Allocator); ok {
		return a.Allocate(size)
	}
	if done, err := allocate(f, size); done {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() >= size {
		return nil
	}
	return f.Truncate(size)
}

// Datasync flushes f's data: fdatasync(2) for a file of the real OS on
// Linux and FreeBSD, the file's own Datasync if it implements DataSyncer, and
// otherwise File.Sync (F_FULLFSYNC on macOS). It is enough after
// overwriting bytes inside the file's durable size; a write that grows the
// file needs File.Sync.
func Datasync(f File) error {
	if d, ok := f.(DataSyncer); ok {
		return d.Datasync()
	}
	if done, err := datasync(f); done {
		return err
	}
	return f.Sync()
}

// pathErr wraps a system call error like package os does.
func pathErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}
