package store

import (
	"encoding/json"
	"fmt"
	"io/fs"

	"github.com/durable-go/durable/journal"
)

// CheckLog checks, reading only, that the patch log beside the document
// at path (on the operating system's filesystem) can be replayed onto the
// snapshot: every record decodes and applies, and the pending patches
// build on the snapshot as it is. It returns nil when there is no log, a
// *LogConflictError when the snapshot was changed without the lock while
// patches were pending, and a *LogError (or the journal's error) when the
// log is damaged. durable fsck calls it. A torn tail is not an error: the
// next writer cuts it (readers never see it).
func CheckLog(path string) error {
	s, err := newStore[json.RawMessage](path, nil)
	if err != nil {
		return err
	}
	target, err := s.target()
	if err != nil {
		return err
	}
	dir := LogName(target)
	// Anything but a directory there is refused (NoFollow) rather than
	// read through: the log is a sidecar, never reached through a link.
	if _, err := s.fs.Lstat(dir); err != nil {
		return nil
	}
	j, err := journal.Open(dir, &journal.Options{FS: s.fs, ReadOnly: true, NoFollow: true})
	if err != nil {
		// Not LogError: a log that cannot be opened (a planted link,
		// no permission) is not a corrupt one.
		return fmt.Errorf("store: opening the patch log of %s: %w", s.path, err)
	}
	defer j.Close()
	s.log = &logMode{dir: dir, j: j}
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return s.logLoad(0)
}

// refuseLogged is Open's check in the default mode: a document whose patch
// log holds pending patches is not the file alone, and reading or
// replacing the file would ignore them. It costs a stat when there is no
// log.
func (s *Store[T]) refuseLogged() error {
	target, err := s.target()
	if err != nil {
		return nil // Get reports it
	}
	dir := LogName(target)
	// Anything but a directory there is refused (NoFollow) rather than
	// read through: the log is a sidecar, never reached through a link.
	if _, err := s.fs.Lstat(dir); err != nil {
		return nil
	}
	j, err := journal.Open(dir, &journal.Options{FS: s.fs, ReadOnly: true, NoFollow: true})
	if err != nil {
		// Not LogError: a log that cannot be opened (a planted link,
		// no permission) is not a corrupt one.
		return fmt.Errorf("store: opening the patch log of %s: %w", s.path, err)
	}
	defer j.Close()
	pending := 0
	for rec, err := range j.Scan(0) {
		if err != nil {
			return &LogError{Path: dir, Cause: err}
		}
		if rec.Type != journal.TypeData {
			continue
		}
		r, err := decodeRecord(rec.Index, rec.Payload)
		if err != nil {
			return &LogError{Path: dir, Cause: err}
		}
		if r.Op == opFold {
			pending = 0
		} else {
			pending++
		}
	}
	if pending > 0 {
		return &fs.PathError{Op: "open", Path: s.path, Err: fmt.Errorf("%w: %d patch(es) are pending in its log %s: open it with Options.Log, or fold them into the file first (durable store compact %s)", ErrConflict, pending, dir, s.path)}
	}
	return nil
}
