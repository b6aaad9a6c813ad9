package vfs

import (
	"io/fs"
	"os"
)

// OS is the real filesystem. Its zero value is ready to use.
//
// Platform notes (the README's platform table says what has run where):
//   - Linux, FreeBSD: File.Sync is fsync(2); SyncDir is fsync(2) on the
//     directory opened read-only.
//   - macOS: File.Sync is fcntl(F_FULLFSYNC), which also flushes the drive's
//     write cache (a plain fsync on macOS does not); SyncDir does the same on
//     the directory. Rename keeps the stored spelling of a name that the
//     volume compares case- or normalization-insensitively.
//   - Windows: every open shares read, write and delete access, so a handle
//     of ours never makes another process's rename or delete fail. Rename
//     opens oldname and renames it by handle (FileRenameInfoEx with POSIX
//     semantics, replace-if-exists and ignore-read-only, falling back to
//     FileRenameInfo), then flushes that handle; it waits a bounded time
//     (about two seconds) while another process holds the target without
//     sharing delete access, and fails at once on a permission error or a
//     directory target. Windows has no directory fsync: SyncDir creates,
//     flushes and deletes a file in the directory, which on NTFS commits
//     the metadata log holding the directory's earlier changes. A file
//     created with a mode that gives group and others nothing gets a
//     protected DACL naming only its user.
type OS struct{}

var _ FS = OS{}

// OpenFile implements FS.
func (OS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := openFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Rename implements FS.
func (OS) Rename(oldname, newname string) error { return rename(oldname, newname) }

// RenameFile is fsys.Rename(oldname, newname) for an oldname that is a
// regular file, such as a temp file just written, with the same result.
// On OS it saves a syscall on every replace: os.Rename first looks at
// newname to refuse a directory, which rename(2) itself refuses when
// oldname is a file.
func RenameFile(fsys FS, oldname, newname string) error {
	if _, ok := fsys.(OS); ok {
		return renameFile(oldname, newname)
	}
	return fsys.Rename(oldname, newname)
}

// Link implements FS.
func (OS) Link(oldname, newname string) error { return os.Link(oldname, newname) }

// Remove implements FS.
func (OS) Remove(name string) error { return os.Remove(name) }

// Mkdir implements FS.
func (OS) Mkdir(name string, perm fs.FileMode) error { return os.Mkdir(name, perm) }

// ReadDir implements FS.
func (OS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// Stat implements FS.
func (OS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// Lstat implements FS.
func (OS) Lstat(name string) (fs.FileInfo, error) { return os.Lstat(name) }

// Readlink implements FS.
func (OS) Readlink(name string) (string, error) { return os.Readlink(name) }

// SyncDir implements FS.
func (OS) SyncDir(name string) error { return syncDir(name) }
