package jsonl

import (
	"context"

	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// locker serialises writers of one file: across processes on the real
// filesystem (package lock, on path + ".lock", its sidecar kept open while
// the File is), within the process on any other FS, where there is no
// cross-process lock to take.
type locker struct{ m *lock.Mutex }

func newLocker(fsys vfs.FS, path string) locker { return locker{lock.New(fsys, path)} }

// lock takes the lock, waiting at most until ctx is done (and at most
// lock.DefaultTimeout when ctx has no deadline).
func (l locker) lock(ctx context.Context) (unlock func(), err error) {
	h, err := l.m.Lock(ctx)
	if err != nil {
		return nil, err
	}
	return func() { h.Unlock() }, nil
}

func (l locker) close() error { return l.m.Close() }
