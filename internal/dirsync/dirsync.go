// Package dirsync makes directories durable: present, after a power cut,
// under every name on the path to them.
//
// A directory's entry in its parent survives a power cut only once the
// parent has been fsynced. Finding a directory with stat proves nothing:
// another writer may have just made it and not synced its parent yet, a
// process may have been killed between its mkdir and that fsync, or the
// fsync may have failed. So MkdirAll fsyncs the parent of every directory on
// the path, made by this call or found, up to one that this process has
// itself seen durable, and returns only when all those fsyncs completed.
//
// Seen-durable directories are remembered per process (a cache, bounded,
// checked against the directory's identity on every use), so the walk is
// paid once per directory and process, not once per file.
package dirsync

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"

	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/vfs"
)

// maxLinks bounds the symbolic links followed on one path, as the kernel's
// ELOOP does.
const maxLinks = 40

// MkdirAll creates dir and its missing parents with mode perm and, unless
// sync is nil, makes dir durable: each directory on the path from the root
// (or from one already known durable) down to dir is fsynced into its
// parent, with sync(parent). It returns nil only after every one of those
// fsyncs returned nil. A symbolic link on the path is made durable together
// with the directory it leads to.
//
// With sync nil (durability weakened by the caller) it only creates what is
// missing, and remembers nothing.
//
// A found directory whose parent this caller is not allowed to open for the
// fsync (fs.ErrPermission: a directory of someone else's that lets others
// search but not read it) is taken as it is: it was not made by this
// caller, and refusing every write below it would help nobody.
func MkdirAll(fsys vfs.FS, dir string, perm fs.FileMode, sync func(dir string) error) error {
	return mkdirAll(fsys, dir, perm, sync, &known)
}

// mkdirAll is MkdirAll with the cache to use: nil is the plain path, which
// the differential test compares the cached one against.
func mkdirAll(fsys vfs.FS, dir string, perm fs.FileMode, sync func(string) error, c *cache) error {
	if !filepath.IsAbs(dir) {
		if _, ok := fsys.(vfs.OS); ok {
			// The working directory's own entry counts as much as any.
			if abs, err := filepath.Abs(dir); err == nil {
				dir = abs
			}
		}
	}
	if sync == nil {
		c = nil // nothing learnt: remember nothing
	}
	w := walker{fsys: fsys, perm: perm, sync: sync, c: c}
	return w.ensure(filepath.Clean(dir))
}

type walker struct {
	fsys  vfs.FS
	perm  fs.FileMode
	sync  func(string) error
	c     *cache
	links int
}

// ensure makes dir exist and, when w.sync is set, durable.
func (w *walker) ensure(dir string) error {
	parent := filepath.Dir(dir)
	fi, err := w.fsys.Lstat(dir)
	switch {
	case err == nil:
		if w.c.has(w.fsys, dir, fi) && w.known(parent) {
			if fi.Mode()&fs.ModeSymlink != 0 {
				// The link's entry is durable; what it leads to may
				// have gone or been made again since.
				return w.ensureLinked(dir, parent)
			}
			return nil
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if err := w.ensureLinked(dir, parent); err != nil {
				return err
			}
		} else if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		if parent == dir || w.sync == nil {
			w.c.add(w.fsys, dir, fi)
			return nil
		}
		// Found, not made: its entry may still be only in memory.
		if err := w.ensure(parent); err != nil {
			return err
		}
		if err := w.sync(parent); err != nil {
			if !errors.Is(err, fs.ErrPermission) {
				return err
			}
			// A parent this caller may not open (a 0711 directory
			// of someone else's) holds a directory this caller did
			// not make: its maker had to sync it. Failing every
			// write below it would help nobody; it is not
			// remembered as durable.
			return nil
		}
	case errors.Is(err, fs.ErrNotExist) && parent != dir:
		if err := w.ensure(parent); err != nil {
			return err
		}
		if err := w.fsys.Mkdir(dir, w.perm); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		// Also when another writer made it first: it may not have synced.
		if w.sync == nil {
			return nil
		}
		if !mutate.SkipMkdirSync {
			if err := w.sync(parent); err != nil {
				return err
			}
		}
		if fi, err = w.fsys.Lstat(dir); err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			// Someone planted a link between the mkdir and now: make
			// what it leads to durable as well, or refuse it.
			if err := w.ensureLinked(dir, parent); err != nil {
				return err
			}
		} else if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
	default:
		return err
	}
	w.c.add(w.fsys, dir, fi)
	return nil
}

// known reports whether every directory (and link) on the path to dir is
// the one this process saw durable there: a directory seen durable is
// durable only where it was seen, and an ancestor made again, or a link
// put in its place, keeps the identity of what lies below it.
func (w *walker) known(dir string) bool {
	parent := filepath.Dir(dir)
	if parent == dir {
		return true
	}
	fi, err := w.fsys.Lstat(dir)
	if err != nil || !w.c.has(w.fsys, dir, fi) {
		return false
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if w.links++; w.links > maxLinks {
			return false
		}
		dest, err := w.fsys.Readlink(dir)
		if err != nil {
			return false
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(parent, dest)
		}
		if !w.known(filepath.Clean(dest)) {
			return false
		}
	}
	return w.known(parent)
}

// ensureLinked makes the directory that the link at dir leads to durable;
// the link's own entry is the caller's to sync. Like mkdir -p, it creates
// nothing through a link that leads nowhere.
func (w *walker) ensureLinked(dir, parent string) error {
	if w.links++; w.links > maxLinks {
		return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ELOOP}
	}
	dest, err := w.fsys.Readlink(dir)
	if err != nil {
		return err
	}
	if !filepath.IsAbs(dest) {
		dest = filepath.Join(parent, dest)
	}
	dest = filepath.Clean(dest)
	if _, err := w.fsys.Lstat(dest); err != nil {
		return &fs.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	return w.ensure(dest)
}

// cache remembers the directories this process saw durable, with their
// identity, so that a directory removed and made again under the same name
// (not yet durable) is not taken for the one that was.
type cache struct {
	mu   sync.Mutex
	dirs map[cacheKey]fs.FileInfo
}

type cacheKey struct {
	fs   vfs.FS
	path string
}

// maxKnown bounds the cache; when full it starts over, which only costs
// fsyncs again.
const maxKnown = 4096

// known is the process-wide cache: durability learnt by one caller holds
// for every caller, as the fsync that taught it completed.
var known cache

func key(fsys vfs.FS, dir string) (cacheKey, bool) {
	if !reflect.TypeOf(fsys).Comparable() {
		return cacheKey{}, false
	}
	return cacheKey{fsys, dir}, true
}

func (c *cache) has(fsys vfs.FS, dir string, fi fs.FileInfo) bool {
	if c == nil {
		return false
	}
	k, ok := key(fsys, dir)
	if !ok {
		return false
	}
	c.mu.Lock()
	prev, ok := c.dirs[k]
	c.mu.Unlock()
	return ok && sameFile(prev, fi) && prev.Mode().Type() == fi.Mode().Type()
}

func (c *cache) add(fsys vfs.FS, dir string, fi fs.FileInfo) {
	if c == nil {
		return
	}
	k, ok := key(fsys, dir)
	if !ok {
		return
	}
	c.mu.Lock()
	if c.dirs == nil || len(c.dirs) >= maxKnown {
		c.dirs = make(map[cacheKey]fs.FileInfo)
	}
	c.dirs[k] = fi
	c.mu.Unlock()
}

func sameFile(a, b fs.FileInfo) bool {
	if ma, ok := a.Sys().(*vfs.MemStat); ok {
		mb, ok := b.Sys().(*vfs.MemStat)
		return ok && ma.Ino == mb.Ino
	}
	return os.SameFile(a, b)
}
