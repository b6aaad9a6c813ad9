package journal

import (
	"context"
	"path/filepath"
	"time"

	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// locker serialises writers of one journal directory: across processes on
// the real filesystem (the lock on dir/journal.lock, its sidecar kept open
// for the journal's life), within the process on any other filesystem.
type locker struct{ m *lock.Mutex }

// lock takes the lock; the caller unlocks the Held (a closure around it
// would cost an allocation per batch).
func (l locker) lock(ctx context.Context) (*lock.Held, error) {
	return l.m.Lock(ctx)
}

// newLocker returns the locker for dir and a function that releases it when
// the journal is closed.
func newLocker(fsys vfs.FS, dir string) (locker, func()) {
	m := lock.New(fsys, filepath.Join(dir, lockName))
	return locker{m}, func() { m.Close() }
}

// pollInterval is how often Follow looks for records other processes
// appended.
const pollInterval = 20 * time.Millisecond
