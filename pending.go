package durable

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/vfs"
)

// PendingFile is a new version of a file being written. It becomes visible
// only through Commit; Cleanup and Close discard it. A PendingFile is not
// safe for concurrent use.
type PendingFile struct {
	o      *options
	name   string      // as the caller gave it, for errors
	target string      // after following symbolic links
	old    fs.FileInfo // the target when the write began, nil if it did not exist
	tmp    string
	f      vfs.File
	err    error // first write error; a PendingFile that failed never commits
	done   bool  // committed or cleaned up
	// skipped: SkipUnchanged found the target already holding this content
	// (and made it durable), so nothing was published.
	skipped bool
	// For an existing target: the mode the new version gets, whether this
	// process is root (asked only when the owner differs), and the file
	// capability to set after the last write.
	mode fs.FileMode
	root bool
	caps []xattr
	// beforeRename, when set, runs once the temp file is sealed, right
	// before the rename; its error abandons the replace (internal/prerename).
	beforeRename func() error
}

// Create starts writing a new version of name. Write to it, then Commit to
// publish it atomically and durably, or Cleanup (or Close) to discard it:
//
//	f, err := durable.Create("report.csv", 0o644)
//	if err != nil { ... }
//	defer f.Cleanup() // a no-op after a successful Commit
//	... write to f ...
//	return f.Commit()
//
// Close never commits, so a deferred Close after a failed write publishes
// nothing. The options are those of WriteFile.
func Create(name string, perm fs.FileMode, opts ...Option) (*PendingFile, error) {
	o := collect(opts)
	target, err := o.target(name)
	if err != nil {
		return nil, err
	}
	return o.begin(name, target, perm)
}

// begin creates the temp file for a new version of target.
func (o *options) begin(name, target string, perm fs.FileMode) (*PendingFile, error) {
	return o.beginWith(name, target, perm, nil)
}

// beginWith is begin for a caller that has just looked at the target under
// its lock (an Update reads it): seen, if not nil, saves a stat.
func (o *options) beginWith(name, target string, perm fs.FileMode, seen fs.FileInfo) (*PendingFile, error) {
	p := &PendingFile{o: o, name: name, target: target}
	old, err := seen, error(nil)
	if old == nil {
		old, err = o.fs.Stat(target)
	}
	switch {
	case err == nil:
		if !old.Mode().IsRegular() {
			return nil, p.wrap(errNotRegular(old))
		}
		if o.noClobber {
			return nil, p.wrap(fs.ErrExist)
		}
		if err := o.refuseLinked(target, old); err != nil {
			return nil, p.wrap(err)
		}
		p.old = old
	case errors.Is(err, fs.ErrNotExist):
		if err := o.mkdirAll(filepath.Dir(target), dirPerm(perm)); err != nil {
			return nil, p.wrap(err)
		}
	default:
		return nil, p.wrap(err)
	}

	// The temp file is born with its final permissions (less the umask for
	// a new file), so no reader ever sees the data under a wider mode.
	mode := perm.Perm()
	if p.old != nil && !o.forcePerm {
		mode = p.old.Mode() & modeBits
	}
	dir, base := filepath.Dir(target), filepath.Base(target)
	for range tempAttempts {
		p.tmp = filepath.Join(dir, tempName(base))
		p.f, err = o.fs.OpenFile(p.tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, mode.Perm())
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return nil, p.wrap(err)
	}
	if p.old != nil {
		// An existing target keeps its exact mode, umask or not (or
		// gets perm with ForcePerm), its owner and group where the
		// kernel allows and its extended attributes: set them now,
		// while the temp file is empty and nobody else knows it.
		if err := p.keepAttributes(mode, o.forcePerm); err != nil {
			return nil, p.abort(err)
		}
	} else if o.sidecarOf != "" {
		if err := o.adoptSidecar(p.f); err != nil {
			return nil, p.abort(err)
		}
	}
	return p, nil
}

// adoptSidecar gives f, the temp file of a new file kept beside
// o.sidecarOf, that data's owner and group (see SidecarOf).
func (o *options) adoptSidecar(f vfs.File) error {
	a, err := sidecar.Of(o.fs, o.sidecarOf)
	if err != nil {
		return err
	}
	a.Perm = 0 // the mode asked for, as for any new file
	return sidecar.Adopt(f, a)
}

// modeBits are the mode bits a replace keeps.
const modeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// keepAttributes gives the temp file what the old file had: mode (with
// force, the mode it was created with: perm less the umask), owner, group
// and extended attributes. It changes only what differs: a chmod or chown
// that changes nothing would still be a metadata update for the fsync to
// commit, and every call is a syscall.
//
// The owner: root gives the file back to the old owner and group (it would
// otherwise hand a user's file to root on every write). Anyone else cannot
// give a file away, so the new version is theirs; but a member of the old
// group keeps the group (fchown(fd, -1, gid) is allowed to a member). Where
// the group cannot be kept, the new group gets only what everybody else had
// (the "other" bits): the writer's own group never gains access to data
// that it could not read before. A setuid bit is kept only with its owner,
// and a setgid bit only with its group.
func (p *PendingFile) keepAttributes(mode fs.FileMode, force bool) error {
	fi, err := p.f.Stat()
	if err != nil {
		return err
	}
	have := fi.Mode() & modeBits
	if force {
		mode = have
	}
	chowned := false
	uid, gid, ok := vfs.Owner(p.old)
	if ok {
		u, g, known := vfs.Owner(fi)
		if !known || u != uid || g != gid {
			// The question is asked only now, as it is a syscall too.
			p.root = os.Geteuid() == 0
			if mode, chowned, err = p.keepOwner(mode, force, u, g, uid, gid, known); err != nil {
				return err
			}
		}
	}
	acl, err := p.keepXattrs()
	if err != nil {
		return err
	}
	// A chown clears the setuid and setgid bits, even root's, and an ACL
	// sets the group bits from its mask: set the mode after both.
	if have != mode || acl || (chowned && mode&(fs.ModeSetuid|fs.ModeSetgid) != 0) {
		if err := p.f.Chmod(mode); err != nil {
			return err
		}
	}
	p.mode = mode
	return nil
}

// keepOwner gives the temp file, now owned by u:g, the owner uid:gid where
// it can (see keepAttributes), and returns the mode to give it. A mode the
// caller forced is the caller's choice for its own group, and kept.
func (p *PendingFile) keepOwner(mode fs.FileMode, force bool, u, g, uid, gid int, known bool) (fs.FileMode, bool, error) {
	if p.root {
		if err := p.f.Chown(uid, gid); err != nil {
			return mode, false, err
		}
		return mode, true, nil
	}
	if !known {
		return mode, false, nil
	}
	chowned := false
	if g != gid {
		err := p.f.Chown(-1, gid)
		switch {
		case err == nil:
			chowned = true
		case errors.Is(err, fs.ErrPermission):
			// Not a member of the old group: the new group gets
			// what "other" had, and no setgid bit for itself.
			if !force {
				mode = mode&^(0o070|fs.ModeSetgid) | (mode&0o007)<<3
			}
		default:
			return mode, false, err
		}
	}
	if u != uid {
		mode &^= fs.ModeSetuid
	}
	return mode, chowned, nil
}

// keepXattrs copies the old file's extended attributes to the temp file,
// except a file capability, kept for seal (a write clears it). It reports
// whether it set an ACL. Only real files have them.
func (p *PendingFile) keepXattrs() (acl bool, err error) {
	f, ok := p.f.(*os.File)
	if !ok || !isOS(p.o.fs) {
		return false, nil
	}
	// A Windows DACL counts as an ACL here: Wine maps it onto the Unix
	// mode, read-only bit included, so the mode is set after it.
	acl, err = keepSecurity(f, p.target)
	if err != nil {
		return false, err
	}
	attrs, err := oldXattrs(p.target, func() bool { return p.root || os.Geteuid() == 0 })
	if err != nil || attrs == nil {
		return acl, err
	}
	now := attrs[:0]
	for _, a := range attrs {
		if a.name == capabilityXattr {
			p.caps = append(p.caps, a)
			continue
		}
		acl = acl || a.name == "system.posix_acl_access"
		now = append(now, a)
	}
	return acl, setXattrs(f, now)
}

// restoreAfterWrite puts back, after the last write, what writing took
// away: the kernel clears a file capability on every write, and the
// setuid and setgid bits on a write by anyone but root. It costs nothing
// for a file with neither.
func (p *PendingFile) restoreAfterWrite() error {
	if p.mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 && !p.root {
		fi, err := p.f.Stat()
		if err != nil {
			return err
		}
		if fi.Mode()&modeBits != p.mode {
			if err := p.f.Chmod(p.mode); err != nil {
				return err
			}
		}
	}
	if len(p.caps) > 0 {
		if f, ok := p.f.(*os.File); ok {
			return setXattrs(f, p.caps)
		}
	}
	return nil
}

// Name returns the name of the file being replaced, as given to Create.
func (p *PendingFile) Name() string { return p.name }

// Write writes to the new version. A short write is an error, and after
// any write error the PendingFile refuses to commit.
func (p *PendingFile) Write(b []byte) (int, error) {
	if p.done {
		return 0, p.wrap(ErrClosed)
	}
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.f.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		p.err = p.wrap(err)
		return n, p.err
	}
	return n, nil
}

// WriteString is Write for a string.
func (p *PendingFile) WriteString(s string) (int, error) { return p.Write([]byte(s)) }

// Contents reads back what has been written so far, from the first byte,
// without moving the write position: a check run on it (a validator
// command, a streaming parser) sees exactly the bytes Commit would
// publish, in bounded memory whatever the size. Writes made after the call
// are not seen by the returned reader.
func (p *PendingFile) Contents() (io.Reader, error) {
	if p.done {
		return nil, p.wrap(ErrClosed)
	}
	if p.err != nil {
		return nil, p.err
	}
	st, err := p.f.Stat()
	if err != nil {
		return nil, p.wrap(err)
	}
	return io.NewSectionReader(p.f, 0, st.Size()), nil
}

// Commit publishes the new version: it fsyncs the temp file, renames it over
// the target and fsyncs the directory, and returns only when the new version
// is durable. If it fails before the rename, the temp file is removed and the
// target is untouched. Commit after Commit or Cleanup returns ErrClosed.
func (p *PendingFile) Commit() error {
	if err := p.publishDurably(); err != nil {
		return err
	}
	return p.syncParent()
}

// syncParent makes the published name durable. It is separate from
// publishDurably so that WriteFile can let the next coalesced write start
// while this directory fsync runs.
func (p *PendingFile) syncParent() error {
	if p.o.durability != Full || mutate.SkipDirSync || p.skipped {
		return nil
	}
	return p.wrap(p.o.syncDir(filepath.Dir(p.target)))
}

// publishDurably is Commit up to, not including, the directory fsync.
func (p *PendingFile) publishDurably() error {
	if err := p.seal(); err != nil {
		return err
	}
	if p.beforeRename != nil {
		if err := p.beforeRename(); err != nil {
			return p.abort(err)
		}
	}
	return p.install()
}

// seal finishes the temp file: verified, fsynced and closed, ready to be
// renamed. It touches nothing but the temp file.
func (p *PendingFile) seal() error {
	if p.done {
		return p.wrap(ErrClosed)
	}
	if p.err != nil {
		err := p.err
		p.abort(nil)
		return err
	}
	o := p.o
	if o.verify != nil {
		data, err := p.readBack()
		if err != nil {
			return p.abort(err)
		}
		if err := p.callVerify(data); err != nil {
			return p.abort(fmt.Errorf("%w: %w", ErrVerify, err))
		}
	}
	if err := p.restoreAfterWrite(); err != nil {
		return p.abort(err)
	}
	if o.durability == Full && !mutate.SkipFileSync {
		// An fsync error is final: the kernel may have dropped the dirty
		// pages, so a retry could "succeed" with data that is not on disk.
		// (On macOS a barrier, completed by the directory's full flush:
		// see syncTemp.)
		if err := syncTemp(p.f); err != nil {
			return p.abort(err)
		}
	}
	if err := p.f.Close(); err != nil {
		p.f = nil
		return p.abort(err)
	}
	p.f = nil
	return nil
}

// callVerify runs the Verify callback; if it panics, the temp file is
// removed before the panic goes on to the caller.
func (p *PendingFile) callVerify(data []byte) error {
	ok := false
	defer func() {
		if !ok {
			p.abort(nil)
		}
	}()
	err := p.o.verify(data)
	ok = true
	return err
}

// install publishes a sealed temp file: the skip-unchanged check, the
// backup, and the rename, all against the target as it is now.
func (p *PendingFile) install() error {
	o := p.o
	if o.skipUnchanged && p.old != nil && (!o.forcePerm || p.old.Mode()&modeBits == p.mode) {
		same, err := p.sameAsTarget()
		if err != nil {
			return p.abort(err)
		}
		if same {
			// A target that cannot be flushed in place (errNoFlush) is
			// replaced by the sealed copy instead.
			if err := o.syncExisting(p.target); !errors.Is(err, errNoFlush) {
				if aerr := p.abort(nil); aerr != nil {
					return aerr
				}
				p.skipped = true
				return p.wrap(err)
			}
		}
	}
	if o.noSplitLinks {
		// A link may have been made since the write began.
		fi, err := o.fs.Stat(p.target)
		if err == nil {
			err = o.refuseLinked(p.target, fi)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return p.abort(err)
		}
	}
	if o.backups > 0 && p.old != nil {
		if err := o.backupOf(p.target); err != nil {
			return p.abort(err)
		}
	}
	if err := p.publish(); err != nil {
		return err
	}
	p.done = true
	return nil
}

// publish moves the temp file into place. On failure the temp file is
// removed; on success nothing is.
func (p *PendingFile) publish() error {
	fsys := p.o.fs
	if !p.o.noClobber {
		if err := vfs.RenameFile(fsys, p.tmp, p.target); err != nil {
			return p.abort(err)
		}
		return nil
	}
	// Create-only: a hard link fails if the target appeared meanwhile,
	// which a rename would silently replace.
	if err := fsys.Link(p.tmp, p.target); err != nil {
		return p.abort(err)
	}
	p.done = true
	if err := fsys.Remove(p.tmp); err != nil {
		return p.wrap(fmt.Errorf("published, but the temp file remains: %w", err))
	}
	return nil
}

// Cleanup discards the new version and removes its temp file. It is safe to
// defer: after Commit, or a second time, it does nothing and returns nil.
func (p *PendingFile) Cleanup() error {
	if p.done {
		return nil
	}
	return p.abort(nil)
}

// Close is Cleanup. It never publishes: only Commit does.
func (p *PendingFile) Close() error { return p.Cleanup() }

// abort closes and removes the temp file and returns cause (wrapped with
// the target's name), joined with any error from the removal.
func (p *PendingFile) abort(cause error) error {
	p.done = true
	var errs []error
	if cause != nil {
		errs = append(errs, cause)
	}
	if p.f != nil {
		p.f.Close() // the file is being discarded; its close error says nothing new
		p.f = nil
	}
	if err := p.o.fs.Remove(p.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil
	}
	return p.wrap(errors.Join(errs...))
}

func (p *PendingFile) wrap(err error) error {
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: "replace", Path: p.name, Err: err}
}

// readBack reads the whole temp file as it now stands.
func (p *PendingFile) readBack() ([]byte, error) {
	st, err := p.f.Stat()
	if err != nil {
		return nil, err
	}
	data := make([]byte, st.Size())
	if _, err := p.f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return data, nil
}

// sameAsTarget compares the finished temp file with the current target:
// content, mode and owner, everything a replace would change.
func (p *PendingFile) sameAsTarget() (bool, error) {
	cur, err := readFile(p.o.fs, p.target)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	next, err := readFile(p.o.fs, p.tmp)
	if err != nil {
		return false, err
	}
	if !bytes.Equal(cur, next) {
		return false, nil
	}
	return p.sameMeta()
}

// sameMeta reports whether the temp file has the target's mode and owner,
// which it got from the same rules a replace applies (the kept mode, or
// ForcePerm's less the umask; the kept owner, or the caller's), so that
// SkipUnchanged never leaves a mode or owner unapplied.
func (p *PendingFile) sameMeta() (bool, error) {
	tmp, err := p.o.fs.Lstat(p.tmp)
	if err != nil {
		return false, err
	}
	cur, err := p.o.fs.Stat(p.target)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	const bits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	if tmp.Mode()&bits != cur.Mode()&bits {
		return false, nil
	}
	tu, tg, ok1 := vfs.Owner(tmp)
	cu, cg, ok2 := vfs.Owner(cur)
	return !ok1 || !ok2 || tu == cu && tg == cg, nil
}

func errNotRegular(fi fs.FileInfo) error {
	if fi.IsDir() {
		return syscall.EISDIR
	}
	return errors.New("not a regular file")
}
