package store

import (
	"encoding/json"

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
	if fi, err := s.fs.Stat(dir); err != nil || !fi.IsDir() {
		return nil
	}
	j, err := journal.Open(dir, &journal.Options{FS: s.fs, ReadOnly: true})
	if err != nil {
		return &LogError{Path: dir, Cause: err}
	}
	defer j.Close()
	s.log = &logMode{dir: dir, j: j}
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return s.logLoad(0)
}
