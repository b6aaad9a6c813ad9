package durable

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"syscall"

	"github.com/durable-go/durable/internal/dirsync"
	"github.com/durable-go/durable/internal/follow"
	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/vfs"
)

// WriteFile atomically and durably replaces the file name with data, like
// os.WriteFile but safe against crashes, power loss, full disks and
// concurrent writers: when it returns nil, data is on disk and will be there
// after a power cut; when it fails or the process dies midway, the file holds
// exactly what it held before. Readers see the old or the new content, never
// a mix.
//
// perm is the mode of a new file (less the umask); an existing file keeps
// its mode, owner, group and extended attributes as far as the caller may
// set them (see the package documentation). Missing parent directories are
// created and made durable, and so is the path to a new file in a
// directory someone else made. A symbolic link is followed and kept, unless
// it is another user's link in a sticky world-writable directory.
//
// A replace puts a new file under the name, as any atomic replace must: if
// the old file has other hard links, they keep the old content and the link
// is split. NoSplitLinks refuses such a target instead (ErrHardLinked).
//
// Concurrent calls for the same file in one process are coalesced: see the
// package documentation for the last-writer-wins rule.
func WriteFile(name string, data []byte, perm fs.FileMode, opts ...Option) error {
	o := collect(opts)
	if o.ifRev != nil {
		// A precondition needs the lock, so that nobody writes between the
		// check and the replace: that is an Update.
		return Update(name, func([]byte) ([]byte, error) { return data, nil }, append(opts, NewFileMode(perm))...)
	}
	target, err := o.target(name)
	if err != nil {
		return err
	}
	w := &writeReq{o: &o, name: name, data: data, perm: perm}
	err = writers.Do(context.Background(), registryKey(o.fs, target), w, joinWrites, func(b *group.Batch[*writeReq]) error {
		// Every caller in the batch is answered by this one replace, which
		// writes the batch's newest data: the last writer wins, as it
		// would if the calls had run one by one. A Verify callback may
		// not write the file it verifies (re-entry is refused).
		batch := b.Items()
		var p *PendingFile
		var err error
		last := batch[len(batch)-1]
		if last.o.verify == nil {
			p, err = last.publish(target)
		} else {
			b.User(func() { p, err = last.publish(target) })
		}
		for _, w := range batch {
			w.published = p
		}
		return err
	})
	if err != nil || w.published == nil {
		return err
	}
	// The directory fsync runs outside the queue, so that the next batch
	// can rename meanwhile. It is shared with every caller whose rename came
	// before it started, and no caller returns before it.
	return w.published.syncParent()
}

// Process-wide coalescing: writes of one file, and fsyncs of one directory,
// made by independent callers share work only if something outlives a
// single call, so these two registries are package state. They hold only
// in-flight work and forget a path as soon as it is idle.
var (
	writers  group.Registry[fsPath, *writeReq]
	dirSyncs group.Registry[fsPath, struct{}]
)

// fsPath names a file within one filesystem.
type fsPath struct {
	fs   vfs.FS
	path string
}

// registryKey returns the coalescing key for path on fsys. Filesystem
// values that cannot be compared share one key per path: their callers
// queue one behind the other (isolation never depends on comparing them)
// and are never joined (coalescible refuses).
func registryKey(fsys vfs.FS, path string) fsPath {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if !comparable(fsys) {
		return fsPath{nil, path}
	}
	return fsPath{fsys, path}
}

func comparable(fsys vfs.FS) bool { return reflect.TypeOf(fsys).Comparable() }

type writeReq struct {
	o         *options
	name      string
	data      []byte
	perm      fs.FileMode
	published *PendingFile // set for every member of a batch that published
	seen      fs.FileInfo  // the target as the caller just saw it under the lock, or nil
	// beforeRename: see internal/prerename (Updater.Update only; such a
	// write is never batched with others).
	beforeRename func() error
}

func joinWrites(batch []*writeReq, w *writeReq) bool {
	b := batch[0]
	return b.perm == w.perm && b.o.coalescible(w.o)
}

// replace runs one durable replace of target with w.data.
func (w *writeReq) replace(target string) error {
	p, err := w.publish(target)
	if err != nil || p == nil {
		return err
	}
	return p.syncParent()
}

// publish replaces target with w.data up to, not including, the directory
// fsync. It returns nil, nil when SkipUnchanged found nothing to do.
func (w *writeReq) publish(target string) (*PendingFile, error) {
	o := w.o
	if o.skipUnchanged {
		skip, err := o.skipWrite(w.name, target, w.data)
		if err != nil || skip {
			return nil, err
		}
	}
	p, err := o.beginWith(w.name, target, w.perm, w.seen)
	if err != nil {
		return nil, err
	}
	return w.fill(p)
}

// fill writes w.data to the new version p and publishes it, up to, not
// including, the directory fsync.
func (w *writeReq) fill(p *PendingFile) (*PendingFile, error) {
	p.beforeRename = w.beforeRename
	if _, err := p.Write(w.data); err != nil {
		p.abort(nil)
		return nil, err
	}
	if err := p.publishDurably(); err != nil {
		return nil, err
	}
	return p, nil
}

// skipWrite reports whether SkipUnchanged may leave target alone without
// writing a temp file: it holds data, and a replace could not change its
// mode or owner: the mode is kept (no ForcePerm), and so is the owner (root
// keeps it; anyone else would make the file theirs, so it must be theirs
// already). Otherwise the write goes ahead and the finished temp file,
// which carries exactly the mode and owner a replace gives, is compared
// before the rename. When skipWrite says yes, the content is durable.
func (o *options) skipWrite(name, target string, data []byte) (bool, error) {
	if o.forcePerm {
		return false, nil // ForcePerm's mode is perm less the umask
	}
	fi, same, err := o.unchanged(target, data)
	if err == nil && same {
		// Geteuid is -1 on Windows, which has no uids for a replace to
		// change: there an owner (the in-memory model's) is no reason to
		// write a temp file only to throw it away.
		euid := os.Geteuid()
		if uid, _, ok := vfs.Owner(fi); ok && euid != 0 && euid != -1 && uid != euid {
			return false, nil
		}
		err = o.syncExisting(target)
		if errors.Is(err, errNoFlush) {
			return false, nil // the replace makes it durable
		}
	}
	if err != nil {
		return false, &fs.PathError{Op: "replace", Path: name, Err: err}
	}
	return same, nil
}

// unchanged reports whether target already holds data, and what it is.
func (o *options) unchanged(target string, data []byte) (fs.FileInfo, bool, error) {
	fi, err := o.fs.Stat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !fi.Mode().IsRegular() || fi.Size() != int64(len(data)) {
		return fi, false, nil
	}
	cur, err := readFile(o.fs, target)
	if err != nil {
		return nil, false, err
	}
	return fi, bytes.Equal(cur, data), nil
}

// syncExisting makes an existing file and its directory entry durable: it
// may have been written by someone who did not fsync. It fails with
// errNoFlush when the file cannot be flushed where it is: Windows flushes
// only handles open for writing, and a read-only file opens for reading
// only. The caller then replaces it after all, which flushes the copy.
func (o *options) syncExisting(target string) error {
	if o.durability != Full {
		return nil
	}
	err := syncFile(o.fs, target, os.O_RDONLY)
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EBADF) {
		err = syncFile(o.fs, target, os.O_RDWR)
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("%w: %w", errNoFlush, err)
		}
	}
	if err != nil {
		return err
	}
	return o.syncDir(filepath.Dir(target))
}

// errNoFlush says that syncExisting could not flush the file in place.
var errNoFlush = errors.New("the file cannot be flushed in place")

func syncFile(fsys vfs.FS, name string, flag int) error {
	f, err := fsys.OpenFile(name, flag, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir fsyncs dir, sharing the fsync with concurrent callers: each is
// answered only by an fsync that started after it asked.
func (o *options) syncDir(dir string) error {
	if !comparable(o.fs) {
		// Another filesystem value of the same path might be another
		// filesystem: nobody could tell whose fsync covers whom.
		return o.fs.SyncDir(dir)
	}
	return dirSyncs.Do(context.Background(), registryKey(o.fs, dir), struct{}{}, nil, func(*group.Batch[struct{}]) error {
		return o.fs.SyncDir(dir)
	})
}

// mkdirAll creates dir and its missing parents and, with Full durability,
// makes the whole path durable: every directory on it, whether this call
// made it or found it, is fsynced into its parent (up to one this process
// has seen durable), so a new file acknowledged in dir cannot vanish with a
// directory that another writer, or a killed process, made and never
// synced.
//
// A write that replaces an existing target does not need this: durable
// puts a file in place only after its writer's own mkdirAll returned, so
// the target's presence proves the path was durable then. What that cannot
// cover is a file that another program (or a write with Cache durability)
// created, without any fsync, in a directory it had just made; on the
// journaling filesystems (ext4, xfs, APFS, NTFS), which commit metadata in
// one order, the directory fsync after the rename covers that too.
func (o *options) mkdirAll(dir string, perm fs.FileMode) error {
	var sync func(string) error
	if o.durability == Full {
		sync = o.syncDir
	}
	return dirsync.MkdirAll(o.fs, dir, perm, sync)
}

// makeDirs creates dir and its missing parents and nothing more: for a lock
// file, which needs its directory but no durability. The replace that may
// follow makes the path durable if the target is new.
func (o *options) makeDirs(dir string, perm fs.FileMode) error {
	return dirsync.MkdirAll(o.fs, dir, perm, nil)
}

// backupOf keeps the current target as target.bak.1 before the target is
// replaced, shifting older backups up to target.bak.N (see Backups), so the
// previous version is never lost: a hard link where the filesystem has them
// (no data copied), a copy otherwise.
//
// Each step is made durable before the next one replaces anything: POSIX
// does not order directory changes, so without these fsyncs a crash could
// keep the new version's rename and lose the backup, or keep the shift of
// bak.1 over bak.2 and lose the shift of bak.2 to bak.3.
func (o *options) backupOf(target string) error {
	dir, bak := filepath.Dir(target), BackupName(target, 1)
	if same, err := o.isBackup(target, bak); err != nil || same {
		// Already the backup: a kill after the backup's rename and before
		// the replace's leaves this. Linking again would gain nothing (and
		// shifting would only push a duplicate up the chain, dropping the
		// oldest), and renaming one name of a file over another does
		// nothing at all. It may not be durable yet.
		if err == nil && o.durability == Full {
			err = o.syncDir(dir)
		}
		return err
	}
	for i := o.backups - 1; i >= 1; i-- {
		// rename(2) moves a name and follows no link: whatever someone
		// put at a backup's name is only moved along, never written.
		from, to := BackupName(target, i), BackupName(target, i+1)
		err := o.fs.Rename(from, to)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if o.durability == Full {
			if err := o.syncDir(dir); err != nil {
				return err
			}
		}
	}
	tmp := filepath.Join(dir, tempName(filepath.Base(bak)))
	if err := o.fs.Link(target, tmp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the target went away: nothing to keep
		}
		if sidecar.LinkUnsupported(err) {
			return o.copyBackup(target, bak)
		}
		return err
	}
	if err := vfs.RenameFile(o.fs, tmp, bak); err != nil {
		if rerr := o.fs.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
		return err
	}
	if err := o.dropUnmoved(tmp, bak); err != nil {
		return err
	}
	if o.durability == Full {
		return o.syncDir(dir)
	}
	return nil
}

// isBackup reports whether bak is already another name of target.
func (o *options) isBackup(target, bak string) (bool, error) {
	b, err := o.fs.Lstat(bak)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	t, err := o.fs.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // the target went away: nothing to keep
	}
	if err != nil {
		return false, err
	}
	return sameFile(t, b), nil
}

// dropUnmoved removes the temp link tmp if the rename to bak left it: when
// bak became another name of the target after isBackup looked (a writer in
// another process backing up the same file), rename(2) between two names of
// one file succeeds and does nothing. Only that link is removed, identified
// as bak's inode: after a rename that did move it, the name is free for
// anyone else's file.
func (o *options) dropUnmoved(tmp, bak string) error {
	left, err := o.fs.Lstat(tmp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	fi, err := o.fs.Lstat(bak)
	if err != nil || !sameFile(left, fi) {
		return err
	}
	if err := o.fs.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// sameFile reports whether a and b describe one file, on the OS or on the
// in-memory model.
func sameFile(a, b fs.FileInfo) bool {
	if ma, ok := a.Sys().(*vfs.MemStat); ok {
		mb, ok := b.Sys().(*vfs.MemStat)
		return ok && ma.Ino == mb.Ino
	}
	if same, ok := sameStat(a, b); ok {
		return same // one of them (or both) from readOS
	}
	return os.SameFile(a, b)
}

func (o *options) copyBackup(target, bak string) error {
	data, err := readFile(o.fs, target)
	if err != nil {
		return err
	}
	fi, err := o.fs.Stat(target)
	if err != nil {
		return err
	}
	// A new backup is the data owner's, as a hard link would be: root's
	// copy must not hand a user's old version to root.
	c := o.withoutBackup()
	c.sidecarOf = target
	p, err := c.begin(bak, bak, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := p.Write(data); err != nil {
		p.abort(nil)
		return err
	}
	return p.Commit()
}

func (o *options) withoutBackup() *options {
	c := *o
	c.backups, c.noClobber, c.verify, c.skipUnchanged, c.forcePerm = 0, false, nil, false, false
	c.noSplitLinks = false // the backup's own links are its business
	return &c
}

// target returns the file a write of name replaces: name past its
// symbolic links (see resolve). Create-only writes (NoClobber) are O_EXCL's
// kind: any name already there, a link included, even one leading nowhere,
// exists, and no link is followed to create a file elsewhere.
func (o *options) target(name string) (string, error) {
	if !o.noClobber {
		return resolve(o.fs, name, o.noFollow)
	}
	_, err := o.fs.Lstat(name)
	switch {
	case err == nil:
		return "", &fs.PathError{Op: "replace", Path: name, Err: fs.ErrExist}
	case !errors.Is(err, fs.ErrNotExist):
		return "", &fs.PathError{Op: "replace", Path: name, Err: err}
	}
	return filepath.Clean(name), nil
}

// resolve follows symbolic links at the end of name, so that the file they
// point to is replaced and the links survive; another user's link in a
// sticky world-writable directory is refused (see internal/follow).
func resolve(fsys vfs.FS, name string, noFollow bool) (string, error) {
	p, err := follow.Resolve(fsys, name, noFollow)
	if err != nil {
		return "", &fs.PathError{Op: "replace", Path: name, Err: err}
	}
	return p, nil
}

// ReadFile reads the whole file. Because every write replaces the file
// atomically, it always returns one complete version. On Windows it opens the
// file so that it never blocks a concurrent replace.
//
// A symbolic link is followed, except another user's link in a sticky
// world-writable directory (see the package documentation). Only a regular
// file is read: a FIFO, device or directory at the name is refused at once,
// so that one planted there cannot make the read wait forever.
func ReadFile(name string, opts ...Option) ([]byte, error) {
	o := collect(opts)
	f, _, err := follow.Open(o.fs, name, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, err
	}
	data, _, err := readFrom(f, name, nil)
	return data, err
}

// readFile reads name, a file already resolved: a link now in its place
// was planted since, and fails the open instead of being followed.
func readFile(fsys vfs.FS, name string) ([]byte, error) {
	data, _, err := readInto(fsys, name, openNoFollow, nil)
	return data, err
}

// readInto reads the whole file into buf, reusing its storage, and returns
// the content. The result is not nil when the file exists, even if empty.
// flag is added to the open's.
func readInto(fsys vfs.FS, name string, flag int, buf []byte) ([]byte, fs.FileInfo, error) {
	if isOS(fsys) {
		if data, fi, ok := readOS(name, flag, buf); ok {
			return data, fi, nil
		}
	}
	return readGeneral(fsys, name, flag, buf)
}

// readGeneral is readInto through fsys, whatever it is.
func readGeneral(fsys vfs.FS, name string, flag int, buf []byte) ([]byte, fs.FileInfo, error) {
	f, err := fsys.OpenFile(name, os.O_RDONLY|openNonBlock|flag, 0)
	if err != nil {
		return buf[:0], nil, err
	}
	return readFrom(f, name, buf)
}

// readFrom is readInto for a file already open; it closes f.
func readFrom(f vfs.File, name string, buf []byte) ([]byte, fs.FileInfo, error) {
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		// A FIFO, device or directory planted at the name: reading it
		// could wait forever or never end, and it is no version of a
		// file anyway.
		err = errNotRegular(st)
	}
	if err == nil {
		// Room for the whole file and for the read that finds its end.
		buf = slices.Grow(buf[:0], int(st.Size())+512)
		for {
			var n int
			n, err = f.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				break
			}
			if len(buf) == int(st.Size()) && len(buf) < cap(buf) {
				// As long as Stat said, and the read stopped short of
				// the room it had: that is the end, which another read
				// would only confirm, for a syscall.
				break
			}
			if len(buf) == cap(buf) {
				buf = slices.Grow(buf, 4096) // it grew meanwhile
			}
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return buf[:0], nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return buf, st, nil
}
