package journal

import (
	"errors"
	"io/fs"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"

	"github.com/durable-go/durable/vfs"
)

// removeRetryFor bounds how long removeSegment waits for another process
// to let go of a segment it holds open without sharing delete access.
const removeRetryFor = 2 * time.Second

// removeSegment removes the segment file name in dir, which DropBefore has
// dropped. On Windows a file that another handle holds open (another
// Journal reading it, an antivirus scanner) cannot simply be deleted:
//
//   - The segment is first renamed to a tombstone, ".dropped.<name>.tmp",
//     so that its name leaves the listing at once even where a delete
//     stays pending until the last handle closes; a Journal that opens
//     the directory removes tombstones a crash or a holder left (they
//     have the shape of removeTemps' temporary files).
//   - A segment that is already delete-pending, or that answers access
//     denied while no longer being there to stat, is gone (segmentGone).
//   - Sharing violations are retried for removeRetryFor. A tombstone that
//     still cannot be deleted then is left for the next open: the segment
//     is dropped from the journal either way.
func removeSegment(fsys vfs.FS, dir, name string) error {
	path := filepath.Join(dir, name)
	tomb := filepath.Join(dir, ".dropped."+name+".tmp")
	if err := vfs.RenameFile(fsys, path, tomb); err != nil {
		if segmentGone(fsys, path, err) {
			return nil
		}
		return err
	}
	deadline := time.Now().Add(removeRetryFor)
	delay := time.Millisecond
	for {
		err := fsys.Remove(tomb)
		if err == nil || segmentGone(fsys, tomb, err) {
			return nil
		}
		if !sharingError(err) {
			return err
		}
		if time.Now().After(deadline) {
			return nil // out of the listing; the next open removes it
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// segmentGone reports whether err, from renaming or removing path, means
// the file is gone already: not found, delete-pending, or access denied
// (which is how Windows answers for a delete-pending file) while the name
// can no longer be looked at either.
func segmentGone(fsys vfs.FS, path string, err error) bool {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, windows.ERROR_DELETE_PENDING):
		return true
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		_, serr := fsys.Lstat(path)
		return errors.Is(serr, fs.ErrNotExist) || errors.Is(serr, windows.ERROR_DELETE_PENDING) ||
			errors.Is(serr, windows.ERROR_ACCESS_DENIED)
	}
	return false
}

func sharingError(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_LOCK_VIOLATION)
}
