// Package vfs is the filesystem seam that every durable package writes through.
//
// Three implementations share one interface:
//
//   - OS is the real operating system, with the platform details that a
//     durable replace needs (F_FULLFSYNC on macOS through File.Sync, a
//     write-through rename and readers that do not block replacement on
//     Windows, directory fsync where the platform has one).
//   - NewMem returns a strict in-memory model that can be crashed: data that
//     was not synced may vanish whole, as a torn prefix, as zeros, or block
//     by block (a later block kept, an earlier one lost, the size anywhere
//     in between), and of the directory changes that were not synced any
//     subset may survive ("POSIX") or every change up to some point, across
//     all directories ("ordered"). Crash
//     samples those states deterministically under a seed; CrashStates
//     enumerates them. It lets a test crash an operation after every step
//     and check what a power cut would leave.
//   - Inject wraps any FS and fails a chosen call with ENOSPC, EIO or a
//     short write, so tests can check that every error surfaces and nothing
//     on disk is harmed.
//
// The interface is public so that users can crash-test their own code in the
// same way the library is tested.
package vfs

import (
	"io"
	"io/fs"
)

// File is an open file. It mirrors the subset of *os.File that durable uses.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.WriterAt
	io.Seeker
	io.Closer
	// Name returns the name the file was opened with.
	Name() string
	// Stat describes the open file.
	Stat() (fs.FileInfo, error)
	// Sync makes the file's data and size durable. It does not make the
	// file's directory entry durable: that takes SyncDir of its directory.
	Sync() error
	// Truncate changes the size of the file.
	Truncate(size int64) error
	// Chmod sets the mode of the open file; durable only calls it on a temp
	// file before it is published.
	Chmod(mode fs.FileMode) error
	// Chown sets the owner of the open file (no-op where unsupported).
	Chown(uid, gid int) error
}

// FS is a filesystem. Paths use the host's separators, as with package os.
type FS interface {
	// OpenFile opens a file like os.OpenFile. Files are never inherited by
	// child processes.
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Rename replaces newname with oldname atomically, like os.Rename, but
	// on Windows it also replaces a file that readers hold open where the
	// platform allows and writes the change through.
	Rename(oldname, newname string) error
	// Link creates newname as a hard link to oldname; it fails with an error
	// wrapping fs.ErrExist when newname exists.
	Link(oldname, newname string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// Mkdir creates a directory.
	Mkdir(name string, perm fs.FileMode) error
	// ReadDir lists a directory sorted by name.
	ReadDir(name string) ([]fs.DirEntry, error)
	// Stat follows symbolic links; Lstat does not.
	Stat(name string) (fs.FileInfo, error)
	Lstat(name string) (fs.FileInfo, error)
	// Readlink returns the target of a symbolic link.
	Readlink(name string) (string, error)
	// SyncDir makes the directory's entries (creates, renames, removes)
	// durable. Where the platform has no way to do so it returns nil and
	// documents why (see OS).
	SyncDir(name string) error
}

// Owner reports the numeric owner of a file where the platform has one.
// It is separate from FS so that models need not invent owners.
func Owner(fi fs.FileInfo) (uid, gid int, ok bool) { return owner(fi) }

// A Wrapper is an FS that passes its calls through to another FS, under
// the same names: a fault injector, a logging or counting layer. Unwrap
// returns that FS. Packages that need to know which files an FS really
// holds (package lock, for the cross-process lock, and durable's
// coalescing of concurrent writes of one file) look through wrappers with
// Base: a wrapper of OS keeps the cross-process lock, and wrappers of one
// MemFS exclude each other. A wrapper that maps names to other names (a
// chroot) must not implement it.
type Wrapper interface {
	FS
	Unwrap() FS
}

// Base returns the FS that fsys wraps, following Unwrap through every
// Wrapper; fsys itself when it is none.
func Base(fsys FS) FS {
	for range 100 {
		w, ok := fsys.(Wrapper)
		if !ok {
			return fsys
		}
		inner := w.Unwrap()
		if inner == nil {
			return fsys
		}
		fsys = inner
	}
	return fsys
}

// Links reports how many names (hard links) the file fi describes has,
// where fi says: on Unix and in the model, not on Windows, whose FileInfo
// does not carry it. Whatever changes a file in place, or puts something
// of a caller's into it, asks: other names may be anywhere, and not the
// caller's.
func Links(fi fs.FileInfo) (n uint64, ok bool) {
	if st, ok := fi.Sys().(*MemStat); ok {
		return uint64(st.Nlink), true
	}
	return links(fi)
}
