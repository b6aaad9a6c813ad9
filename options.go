package durable

import (
	"io/fs"

	"github.com/durable-go/durable/vfs"
)

// An Option changes how a file is written. No option is needed for the full
// guarantee; options only add behaviour or, by name, weaken durability.
type Option func(*options)

type options struct {
	fs            vfs.FS
	durability    Durability
	backups       int // previous versions to keep (Backup, Backups)
	noClobber     bool
	noFollow      bool
	forcePerm     bool
	skipUnchanged bool
	noSplitLinks  bool
	verify        func([]byte) error
	newFileMode   fs.FileMode // for files Update creates
	ifRev         *Rev        // precondition on the current content
	sidecarOf     string      // the data a new file is kept beside, or ""
}

func collect(opts []Option) options {
	o := options{fs: vfs.OS{}, newFileMode: 0o600}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// coalescible reports whether two writes with these options may be merged
// into one replace: only when nothing about the result depends on which of
// them runs (no verify callback, no create-only check).
func (o *options) coalescible(p *options) bool {
	return o.verify == nil && p.verify == nil && !o.noClobber && !p.noClobber &&
		o.ifRev == nil && p.ifRev == nil &&
		sameFS(o.fs, p.fs) && o.durability == p.durability && o.backups == p.backups &&
		o.noFollow == p.noFollow && o.forcePerm == p.forcePerm &&
		o.skipUnchanged == p.skipUnchanged && o.noSplitLinks == p.noSplitLinks &&
		o.sidecarOf == p.sidecarOf
}

// sameFS reports whether a and b are the same filesystem value; values
// that cannot be compared are never the same (comparing them would panic).
func sameFS(a, b vfs.FS) bool {
	return comparable(a) && comparable(b) && a == b
}

// Durability says which failures a write survives.
type Durability int

const (
	// Full survives process crashes and power loss: the temp file and the
	// directory are fsynced before the write returns. The default.
	Full Durability = iota
	// Cache survives process crashes only. No fsync is done, so it is fast,
	// but after a power cut the file may be the old version, the new one,
	// or empty. For caches and other files that can be rebuilt.
	Cache
)

func (d Durability) String() string {
	switch d {
	case Full:
		return "full"
	case Cache:
		return "cache"
	}
	return "Durability(?)"
}

// WithDurability sets the durability level (Full by default).
func WithDurability(d Durability) Option { return func(o *options) { o.durability = d } }

// WithFS writes through fsys instead of the operating system: a vfs.MemFS
// to crash-test code that uses durable, or a fault injector.
func WithFS(fsys vfs.FS) Option { return func(o *options) { o.fs = fsys } }

// Backup keeps the previous version as "name.bak.1" (BackupName), itself
// replaced atomically and made durable before the target is replaced, so
// that whenever the new version is visible the previous one is in the
// backup. It is Backups(1).
func Backup() Option { return Backups(1) }

// Backups keeps the n previous versions, as "name.bak.1" (the newest) to
// "name.bak.n", the scheme package store and the durable command use too:
// before the target is replaced, older backups shift up one number (the
// oldest beyond n is dropped, its name replaced) and the current version
// becomes name.bak.1. Each step is made durable before the next, so that
// after a crash at any moment every backup is a good version and, whenever
// the new version is visible, name.bak.1 holds the one it replaced. A
// backup is a hard link to the old version where the filesystem has them
// (no data is copied), a copy with its mode and owner otherwise. n <= 0
// keeps none. A backup that an earlier release made as the unnumbered
// "name.bak" is left alone (ParseBackupName recognises it).
func Backups(n int) Option { return func(o *options) { o.backups = max(n, 0) } }

// NoClobber creates the file only if it does not exist; otherwise the write
// fails with an error wrapping fs.ErrExist and nothing changes. Like
// O_EXCL, it follows no symbolic link: a link at the name, even one that
// leads nowhere, is a name that exists, so nothing is ever created through
// one somewhere else.
func NoClobber() Option { return func(o *options) { o.noClobber = true } }

// NoFollow refuses to write through a symbolic link (ErrSymlink). By
// default a link is followed, so its target is replaced and the link stays.
func NoFollow() Option { return func(o *options) { o.noFollow = true } }

// ForcePerm applies perm (less the umask) to an existing target too,
// instead of keeping its mode. The mode is still set on the temp file before
// data is written, and the owner, group and extended attributes are kept
// as without it: root changing a user's file's mode does not take the file.
func ForcePerm() Option { return func(o *options) { o.forcePerm = true } }

// SkipUnchanged leaves the file alone when it already holds exactly the new
// content, with the mode (ForcePerm's included) and the owner a replace
// would give it, after making sure that content is durable. It saves a
// replace, and keeps modification times and inode numbers stable for
// watchers.
func SkipUnchanged() Option { return func(o *options) { o.skipUnchanged = true } }

// NoSplitLinks refuses to replace a file that has other hard links
// (ErrHardLinked), checked before anything is written and again just before
// the rename. A replace puts a new file under the name, so by default the
// other names keep the old content: the link is silently split. Where the
// link count cannot be read (Windows through a vfs.FS other than vfs.OS),
// the write goes ahead.
func NoSplitLinks() Option { return func(o *options) { o.noSplitLinks = true } }

// SidecarOf says the file is kept beside data, as durable's own backups,
// journal segments and evidence are: no symbolic link is followed at its
// name (as with NoFollow), and a file it creates gets data's owner and
// group when running as root (a caller who belongs to data's group gives
// it that group), so that root's work never hands a user's files to root.
// data is a file or, for a directory-shaped store, its directory; where it
// does not exist, its directory stands in. A file that exists keeps its
// own owner, as with every replace.
func SidecarOf(data string) Option {
	return func(o *options) { o.sidecarOf, o.noFollow = data, true }
}

// Verify calls fn with the bytes read back from the synced temp file before
// it is published; an error from fn aborts the write (wrapped with
// ErrVerify) and leaves the target untouched. Use it to check that what
// reached the disk decodes.
func Verify(fn func(data []byte) error) Option { return func(o *options) { o.verify = fn } }

// dirPerm is the mode for directories created on the way to a new file:
// the file's permissions plus search permission wherever it may be read.
func dirPerm(perm fs.FileMode) fs.FileMode {
	p := perm.Perm()
	p |= (p & 0o444) >> 2
	return p | 0o700
}
