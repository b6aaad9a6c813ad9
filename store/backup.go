package store

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/vfs"
)

// Backups, damaged copies and pre-migration copies are hard links to the
// version they keep (no data is copied, and a version's inode is never
// written again once published), or durable copies where the filesystem
// has no hard links.

// backupName is durable.BackupName: the root package owns the scheme
// (name.bak.1, the newest, to name.bak.N), which durable.Backups, the
// durable command and its fsck share.
func backupName(target string, i int) string { return durable.BackupName(target, i) }

// rotate keeps the current version (about to be replaced) as name.bak.1,
// shifting older backups up to name.bak.N, and returns once that is
// durable. It runs under the lock, just before the new version is
// published in the same directory. An update starts it instead
// (startRotate), so that it runs while the new version is written.
//
// Each step is made durable with a directory fsync before the next one
// replaces anything: POSIX does not order directory changes (btrfs's log
// tree, for one, need not keep them in order), so without these fsyncs a
// crash could keep the new version's rename and lose the rotation, leaving
// the version it replaced under no name at all, or keep the shift of
// bak.1 over bak.2 and lose the shift of bak.2 to bak.3. With them, after a
// crash at any point every backup is a good version, the oldest at worst
// one step older, and whenever the new version survived, name.bak.1 holds
// the one it replaced. The cost is one directory fsync per backup kept (one
// by default).
//
// Where the filesystem keeps directory changes in one global order
// (vfs.OrderedDirs: xfs, ext4 with its journal), the same holds without
// them: a crash keeps the changes made up to some point, so the new
// version's rename never survives without the steps before it, and the
// directory fsync after that rename makes them all durable at once. There
// the fsyncs would only wait for journal commits that order nothing, and
// they are skipped (DESIGN.md, "Backups").
func (s *Store[T]) rotate(target string) error {
	return runSteps(s.rotation(target))
}

// startRotate starts the rotation (see rotate) for an update about to
// publish a new version of target; the update's rename waits for it
// (waitRotated, through internal/prerename), and so does the update's end,
// whether or not it got as far as the rename.
//
// None of the rotation has to come before the new version is written and
// fsynced, only before it is renamed: nothing the rotation touches is
// touched by the write (the temp file has a name of its own), and the
// rename is the first step that could outrun it. On the OS it runs on a
// goroutine, so that its renames (the one over the oldest backup frees a
// document-sized file, which costs a discard on some filesystems) and its
// directory fsync overlap the new version's write and fsync instead of
// queueing before them. On any other vfs.FS, where the crash and fault
// tests count and fail calls one by one, it runs in line, before the
// write, unless a test interleaves it (interleave).
func (s *Store[T]) startRotate(target string) error {
	steps := s.rotation(target)
	if len(steps) == 0 {
		return nil
	}
	if s.interleave != nil {
		s.rotated = s.interleave(steps)
		return nil
	}
	if _, ok := s.fs.(vfs.OS); !ok || s.be != nil {
		return runSteps(steps)
	}
	done := make(chan error, 1)
	s.rotated = func() error { return <-done }
	go func() { done <- runSteps(steps) }()
	return nil
}

// runSteps runs steps in order, up to the first that fails.
func runSteps(steps []func() error) error {
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// rotation returns the steps of rotate, each a single change of the
// directory or its fsync, the first a check that changes nothing. A step
// reads and writes nothing of the Store but what the steps share, so they
// may run on another goroutine than the caller's while it writes the new
// version.
func (s *Store[T]) rotation(target string) []func() error {
	n := s.backups
	if n <= 0 {
		return nil
	}
	dir := filepath.Dir(target)
	ordered := false // set by the first step
	syncDir := func() error {
		if mutate.StoreSkipRotateDirSync || ordered {
			// The publish's directory fsync covers the rotation, or
			// (the mutation) this build is broken on purpose: the
			// publish may outrun the backup.
			return nil
		}
		return s.fs.SyncDir(dir)
	}
	// After a publish that failed, bak.1 may already be this very version
	// (a link to the same inode): shifting again would only push a
	// duplicate up the chain and drop the oldest backup. Then every step
	// after the check does nothing.
	skip := false
	steps := []func() error{func() error {
		// Asked here rather than by the caller: its stat (to tell
		// whether the directory is the one remembered) then overlaps
		// the write of the new version too. The steps run one after
		// another, and a rotation's only once the one before has
		// ended (waitRotated), so s.order is never shared.
		ordered = s.orderedDirs(dir)
		same, err := s.sameFile(target, backupName(target, 1))
		skip = same
		return err
	}}
	for i := n - 1; i >= 1; i-- {
		from, to := backupName(target, i), backupName(target, i+1)
		moved := false
		steps = append(steps, func() error {
			if skip {
				return nil
			}
			err := s.fs.Rename(from, to)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return unsafeBackup(s.fs, err, from, to)
			}
			moved = true
			return nil
		}, func() error {
			if skip || !moved {
				return nil
			}
			return syncDir()
		})
	}
	// bak.1 is now gone, or another file than target (checked first).
	return append(steps, func() error {
		if skip {
			return nil
		}
		return s.linkOrCopy(target, backupName(target, 1))
	}, func() error {
		if skip {
			return nil
		}
		return syncDir()
	})
}

// dirOrder is what vfs.OrderedDirs said of the document's directory on the
// OS, where asking costs a few system calls, and of which directory: the
// same directory (device and inode) is on the same filesystem, which
// cannot be unmounted while the Updater holds the lock file in it open.
type dirOrder struct {
	dir     fs.FileInfo
	ordered bool
}

// orderedDirs is vfs.OrderedDirs(s.fs, dir), remembered on the OS.
func (s *Store[T]) orderedDirs(dir string) bool {
	if _, ok := s.fs.(vfs.OS); !ok {
		return vfs.OrderedDirs(s.fs, dir)
	}
	fi, err := s.fs.Stat(dir)
	if err != nil {
		return false
	}
	if c := s.order; c.dir != nil && sameFile(c.dir, fi) {
		return c.ordered
	}
	s.order = dirOrder{fi, vfs.OrderedDirs(s.fs, dir)}
	return s.order.ordered
}

// waitRotated waits for the rotation startRotate left running, and
// returns its error. The update's rename waits for it; so does every
// update's end, whether or not it got as far as the rename.
func (s *Store[T]) waitRotated() error {
	if s.rotated == nil {
		return nil
	}
	err := s.rotated()
	s.rotated = nil
	if err != nil {
		return fmt.Errorf("keeping the current version as a backup: %w", err)
	}
	return nil
}

// sameFile reports whether a and b are names of one file. b, a backup
// name, is looked at as it is: a link someone put there is not the file.
func (s *Store[T]) sameFile(a, b string) (bool, error) {
	fb, err := s.fs.Lstat(b)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fa, err := s.fs.Stat(a)
	if err != nil {
		return false, err
	}
	return sameFile(fa, fb), nil
}

// linkOrCopy makes dst a copy of src, replacing dst atomically. dst must
// not be another name of src: rename(2) between two names of one file does
// nothing, which would leave the temp name behind.
func (s *Store[T]) linkOrCopy(src, dst string) error {
	tmp := filepath.Join(filepath.Dir(dst), sidecar.TempName(filepath.Base(dst)))
	err := s.fs.Link(src, tmp)
	if err == nil {
		if err := vfs.RenameFile(s.fs, tmp, dst); err != nil {
			s.fs.Remove(tmp)
			return unsafeBackup(s.fs, err, dst)
		}
		return nil
	}
	if !sidecar.LinkUnsupported(err) {
		return err
	}
	return s.copyFile(src, dst, false)
}

// unsafeBackup adds durable.ErrUnsafeFile to err, a failed rename of
// backups, when one of names is a directory that someone put there (the
// rename cannot replace it).
func unsafeBackup(fsys vfs.FS, err error, names ...string) error {
	for _, name := range names {
		if fi, lerr := fsys.Lstat(name); lerr == nil && fi.IsDir() {
			return fmt.Errorf("%w: %s is a directory: %w", durable.ErrUnsafeFile, name, err)
		}
	}
	return err
}

// copyFile durably copies src to dst with src's mode.
func (s *Store[T]) copyFile(src, dst string, noClobber bool) error {
	data, err := readFile(s.fs, src)
	if err != nil {
		return err
	}
	fi, err := s.fs.Stat(src)
	if err != nil {
		return err
	}
	// A copy is a sidecar of src: it is its owner's, even when root
	// makes it, and no link at dst is followed.
	opts := []durable.Option{durable.WithFS(s.fs), durable.ForcePerm(), durable.SidecarOf(src)}
	if noClobber {
		opts = append(opts, durable.NoClobber())
	}
	return durable.WriteFile(dst, data, fi.Mode().Perm(), opts...)
}

// moveAside keeps the damaged file as name.corrupt.<time> and makes that
// durable, before anything replaces it.
func (s *Store[T]) moveAside(target string) (string, error) {
	now := time.Now()
	for k := 1; k <= 100; k++ {
		name := corruptName(target, now, k)
		err := s.fs.Link(target, name)
		if sidecar.LinkUnsupported(err) {
			err = s.copyFile(target, name, true)
			if err == nil {
				return name, nil
			}
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return name, s.fs.SyncDir(filepath.Dir(target))
	}
	return "", fmt.Errorf("no free name for %s", corruptName(target, now, 1))
}

// keepPreMigration keeps the file target, as it was before migrating from
// version from, as target.pre-v<from>, durably.
func (s *Store[T]) keepPreMigration(target string, from int) error {
	dst := preMigrationName(target, from)
	if same, err := s.sameFile(target, dst); err != nil {
		return err
	} else if !same {
		if err := s.linkOrCopy(target, dst); err != nil {
			return err
		}
	}
	return s.fs.SyncDir(filepath.Dir(target))
}

// findBackup returns the newest backup that parses, with its path and
// content, and the backups it looked at. A backup that cannot be read (as
// opposed to one that does not parse) is an error: it may be good.
func (s *Store[T]) findBackup(target string) (*parsed, string, []byte, []string, error) {
	var tried []string
	for i := 1; i <= max(s.backups, 1)+16; i++ {
		name := backupName(target, i)
		// A backup that is another name of the damaged file itself (a
		// publish failed after the rotation) is as damaged as it is.
		if same, err := s.sameFile(target, name); err == nil && same {
			tried = append(tried, name)
			continue
		}
		// Never through a link, from a FIFO, or from a file that has a
		// name elsewhere: whatever parses here becomes the document.
		data, err := sidecar.ReadFile(s.fs, name)
		if errors.Is(err, fs.ErrNotExist) {
			if i > s.backups {
				break
			}
			continue
		}
		if err != nil {
			return nil, "", nil, tried, err
		}
		tried = append(tried, name)
		if p, err := s.c.parse(data); err == nil {
			return p, name, data, tried, nil
		}
	}
	return nil, "", nil, tried, nil
}
