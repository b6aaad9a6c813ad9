package fsck

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/queue"
	"github.com/durable-go/durable/vfs"
)

// queue checks a queue whose journal verified: every event replays (with
// the state snapshot hidden, so that nothing is taken on trust), and the
// snapshot, if there is one, gives the state the full replay gives. It
// reports false when the events themselves do not replay.
func (c *checker) queue(dir string, corrupt Kind) bool {
	full, err := queueStats(dir, &queue.Options{ReadOnly: true, FS: hideSnapshot{vfs.OS{}}})
	if err != nil {
		kind := corrupt
		if !errors.Is(err, durable.ErrCorrupt) {
			kind = Unreadable
		}
		c.add(Finding{Path: dir, Kind: kind, Problem: true,
			Detail: fmt.Sprintf("the queue's events do not replay: %v", errText(err, dir)),
			Action: "not fixable: the journal under it verifies, but an event in it is not one the queue understands"})
		return false
	}
	var reports []error
	snap, err := queueStats(dir, &queue.Options{ReadOnly: true, OnRecover: func(err error) { reports = append(reports, err) }})
	switch {
	case err != nil:
		reports = append(reports, err)
	case len(reports) == 0 && snap != full:
		reports = append(reports, fmt.Errorf("the state snapshot gives %+v where a replay of every event gives %+v", snap, full))
	}
	path := filepath.Join(dir, queue.SnapshotName)
	for _, r := range reports {
		c.fix(Finding{Path: path, Kind: QueueSnapshot, Problem: true, Fixable: true,
			Detail: errText(r, path),
			Action: "--fix keeps the snapshot as " + queue.SnapshotName + ".corrupt and opens the queue for writing, which rebuilds the snapshot from the journal (the journal holds every message; the snapshot only saves the replay)"},
			func() (string, error) { return rebuildSnapshot(dir) })
	}
	return true
}

func queueStats(dir string, o *queue.Options) (queue.Stats, error) {
	q, err := queue.Open(dir, o)
	if err != nil {
		return queue.Stats{}, err
	}
	defer q.Close()
	return q.Stats()
}

// rebuildSnapshot moves a snapshot out of the way and lets a writer's
// Open replay the journal and write a new one.
func rebuildSnapshot(dir string) (string, error) {
	path := filepath.Join(dir, queue.SnapshotName)
	kept := ""
	switch err := os.Rename(path, path+".corrupt"); {
	case err == nil:
		kept = "; the old one is kept as " + queue.SnapshotName + ".corrupt"
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	q, err := queue.Open(dir, nil)
	if err != nil {
		return "", err
	}
	if err := q.Close(); err != nil {
		return "", err
	}
	return "rebuilt from the journal" + kept, nil
}

// hideSnapshot is the OS filesystem without any queue's state snapshot, so
// that a queue opened through it replays every event.
type hideSnapshot struct{ vfs.FS }

func (h hideSnapshot) Unwrap() vfs.FS { return h.FS }

func (h hideSnapshot) hidden(name string) bool { return filepath.Base(name) == queue.SnapshotName }

func (h hideSnapshot) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	if h.hidden(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return h.FS.OpenFile(name, flag, perm)
}

func (h hideSnapshot) Stat(name string) (fs.FileInfo, error) {
	if h.hidden(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return h.FS.Stat(name)
}

func (h hideSnapshot) Lstat(name string) (fs.FileInfo, error) {
	if h.hidden(name) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return h.FS.Lstat(name)
}
