package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/durable-go/durable/internal/checked"
	"github.com/durable-go/durable/internal/follow"
	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/vfs"
)

// Temp files are named ".<target>.<token>.tmp": hidden, beside the target so
// the rename never crosses filesystems, and recognisable so that CleanTemp
// removes only files this package made (see ParseTempName). The token is
// random, so concurrent writers never collide; internal/sidecar builds and
// parses the name, so that the files kept beside data (backups, lock files)
// are named alike and CleanTemp and fsck recognise every leftover.
const tempAttempts = 100

func tempName(base string) string { return sidecar.TempName(base) }

// isTempName reports whether name has the shape of a temp file of ours.
func isTempName(name string) bool {
	_, ok := sidecar.ParseTempName(name)
	return ok
}

// CleanTemp removes the temp files that writes in dir left behind when their
// process died before publishing, if they were last modified more than
// olderThan ago, and returns their paths. It removes nothing but regular
// files named like this package's temp files (".name.<token>.tmp"). Pick
// olderThan longer than any write in progress can take: a minute is plenty
// for small files.
//
// On the real filesystem each candidate is looked at through a descriptor
// opened relative to dir without following links, and its name is removed
// relative to dir only while it is still the file that was looked at, so
// that in a directory other users can write, a name swapped for a link (or
// dir's own path swapped meanwhile) never leads to removing anything
// elsewhere.
func CleanTemp(dir string, olderThan time.Duration, opts ...Option) ([]string, error) {
	o := collect(opts)
	// Never another user's link planted in a shared directory: that
	// would let them choose where files are removed.
	if err := follow.Dir(o.fs, dir); err != nil {
		return nil, &fs.PathError{Op: "clean", Path: dir, Err: err}
	}
	var d *checked.Dir
	var entries []fs.DirEntry
	var err error
	if isOS(o.fs) {
		// List and remove in one open directory: a path swapped meanwhile
		// changes nothing.
		if d, err = checked.OpenDir(dir); err != nil {
			return nil, err
		}
		defer d.Close()
		entries, err = d.ReadDir()
	} else {
		entries, err = o.fs.ReadDir(dir)
	}
	if err != nil {
		return nil, err
	}
	cutoff := time.Now().Add(-olderThan)
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTempName(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		var err error
		if d != nil {
			err = removeTempAt(d, e.Name(), cutoff)
		} else {
			err = removeTemp(o.fs, e, p, cutoff)
		}
		switch {
		case errors.Is(err, errKeep), errors.Is(err, fs.ErrNotExist),
			errors.Is(err, checked.ErrChanged), errors.Is(err, checked.ErrNotRegular):
			// Young, gone, or no longer the temp file that was listed.
		case err != nil:
			errs = append(errs, err)
		default:
			removed = append(removed, p)
		}
	}
	return removed, errors.Join(errs...)
}

// errKeep says a temp file is too young to remove.
var errKeep = errors.New("younger than the cutoff")

// removeTempAt removes the temp file name in d if it is older than cutoff,
// acting on the file it looked at and nothing else.
func removeTempAt(d *checked.Dir, name string, cutoff time.Time) error {
	f, err := d.Open(name, os.O_RDONLY)
	if err != nil {
		return err
	}
	info, err := f.Stat()
	f.Close()
	if err != nil {
		return err
	}
	if !info.ModTime().Before(cutoff) {
		return errKeep
	}
	return d.Remove(name, info)
}

// removeTemp is removeTempAt on a filesystem with no descriptors to act
// through (the crash model, a fault injector).
func removeTemp(fsys vfs.FS, e fs.DirEntry, p string, cutoff time.Time) error {
	info, err := e.Info()
	if err != nil {
		return err
	}
	if !info.ModTime().Before(cutoff) {
		return errKeep
	}
	return fsys.Remove(p)
}
