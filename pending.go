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
	target, err := resolve(o.fs, name, o.noFollow)
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
	keep := p.old != nil && !o.forcePerm
	if keep {
		mode = p.old.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
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
	if keep {
		// An existing target keeps its exact mode, umask or not, and
		// when running as root its owner: set them now, while the temp
		// file is empty and nobody else knows it.
		if err := p.keepModeAndOwner(mode); err != nil {
			return nil, p.abort(err)
		}
	}
	return p, nil
}

// keepModeAndOwner gives the temp file mode and, when running as root
// (which would otherwise hand a user's file to root on every write), the
// target's owner. It changes only what differs: a chmod or chown that
// changes nothing would still be a metadata update for the fsync to
// commit, and every call is a syscall.
func (p *PendingFile) keepModeAndOwner(mode fs.FileMode) error {
	fi, err := p.f.Stat()
	if err != nil {
		return err
	}
	const bits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	chmod := fi.Mode()&bits != mode
	uid, gid, ok := vfs.Owner(p.old)
	if ok {
		u, g, known := vfs.Owner(fi)
		// Only root may give a file away, so only root tries; the
		// question is asked only now, as it is a syscall too.
		if (!known || u != uid || g != gid) && os.Geteuid() == 0 {
			if err := p.f.Chown(uid, gid); err != nil {
				return err
			}
			// A chown clears the setuid and setgid bits, even root's.
			chmod = chmod || mode&(fs.ModeSetuid|fs.ModeSetgid) != 0
		}
	}
	if chmod {
		return p.f.Chmod(mode)
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
	if o.durability == Full && !mutate.SkipFileSync {
		// An fsync error is final: the kernel may have dropped the dirty
		// pages, so a retry could "succeed" with data that is not on disk.
		if err := p.f.Sync(); err != nil {
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
	if o.skipUnchanged && p.old != nil {
		same, err := p.sameAsTarget()
		if err != nil {
			return p.abort(err)
		}
		if same {
			p.abort(nil)
			p.skipped = true
			return p.wrap(o.syncExisting(p.target))
		}
	}
	if o.backup && p.old != nil {
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

// sameAsTarget compares the finished temp file with the current target.
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
	return bytes.Equal(cur, next), nil
}

func errNotRegular(fi fs.FileInfo) error {
	if fi.IsDir() {
		return syscall.EISDIR
	}
	return errors.New("not a regular file")
}
