package vfs

import (
	"io/fs"
	"time"
)

// MemStat is what FileInfo.Sys returns for a MemFS file. Its Owner method
// makes vfs.Owner work on MemFS as on the real OS.
type MemStat struct {
	Ino   uint64 // inode number: hard links share it
	Nlink int    // number of names the inode has in the visible tree
	UID   int    // owner, from SetOwner or File.Chown
	GID   int    // group, likewise
}

// Owner returns the numeric owner and group.
func (s *MemStat) Owner() (uid, gid int) { return s.UID, s.GID }

func (n *inode) info(name string) *memInfo {
	fi := &memInfo{
		name: name, mode: n.mode, mtime: n.mtime,
		sys: &MemStat{Ino: n.ino, Nlink: n.nlink, UID: n.uid, GID: n.gid},
	}
	switch {
	case n.isSymlink():
		fi.size = int64(len(n.target))
	case n.isRegular():
		fi.size = int64(len(n.data))
	}
	return fi
}

// memInfo is a snapshot of an inode; it implements fs.FileInfo.
type memInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
	sys   *MemStat
}

func (fi *memInfo) Name() string       { return fi.name }
func (fi *memInfo) Size() int64        { return fi.size }
func (fi *memInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *memInfo) ModTime() time.Time { return fi.mtime }
func (fi *memInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi *memInfo) Sys() any           { return fi.sys }
func (fi *memInfo) String() string     { return fs.FormatFileInfo(fi) }

// memDirEntry implements fs.DirEntry.
type memDirEntry struct{ fi *memInfo }

func (e memDirEntry) Name() string               { return e.fi.name }
func (e memDirEntry) IsDir() bool                { return e.fi.IsDir() }
func (e memDirEntry) Type() fs.FileMode          { return e.fi.mode.Type() }
func (e memDirEntry) Info() (fs.FileInfo, error) { return e.fi, nil }
func (e memDirEntry) String() string             { return fs.FormatDirEntry(e) }
