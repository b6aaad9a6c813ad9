package journal

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// locker serialises writers of one journal directory. On the real
// filesystem it is the cross-process lock on dir/journal.lock; on other
// filesystems (the in-memory model, a fault injector) processes cannot
// share them, so an in-process lock per filesystem and directory does.
type locker interface {
	lock(ctx context.Context) (unlock func(), err error)
}

type osLocker struct{ name string }

func (l osLocker) lock(ctx context.Context) (func(), error) {
	h, err := lock.Lock(ctx, l.name)
	if err != nil {
		return nil, err
	}
	return func() { h.Unlock() }, nil
}

// chanLocker is a mutex whose wait can be abandoned.
type chanLocker struct {
	ch   chan struct{}
	name string
	refs int // guarded by memLocks
}

func (l *chanLocker) lock(ctx context.Context) (func(), error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lock.DefaultTimeout)
		defer cancel()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("lock %s: %w: %w", l.name, ErrLocked, ctx.Err())
	}
}

type memKey struct {
	fs  vfs.FS
	dir string
}

// memLocks holds the in-process locks of journals open on filesystems
// other than the OS, counted so that closed journals are forgotten.
var memLocks struct {
	sync.Mutex
	m map[memKey]*chanLocker
}

// newLocker returns the locker for dir and a function that releases it when
// the journal is closed.
func newLocker(fsys vfs.FS, dir string) (locker, func()) {
	name := filepath.Join(dir, lockName)
	if _, ok := fsys.(vfs.OS); ok {
		return osLocker{name: name}, func() {}
	}
	if !reflect.TypeOf(fsys).Comparable() {
		return &chanLocker{ch: make(chan struct{}, 1), name: name}, func() {}
	}
	key := memKey{fsys, filepath.Clean(dir)}
	memLocks.Lock()
	defer memLocks.Unlock()
	if memLocks.m == nil {
		memLocks.m = map[memKey]*chanLocker{}
	}
	l := memLocks.m[key]
	if l == nil {
		l = &chanLocker{ch: make(chan struct{}, 1), name: name}
		memLocks.m[key] = l
	}
	l.refs++
	return l, func() {
		memLocks.Lock()
		defer memLocks.Unlock()
		if l.refs--; l.refs == 0 {
			delete(memLocks.m, key)
		}
	}
}

// pollInterval is how often Follow looks for records other processes
// appended.
const pollInterval = 20 * time.Millisecond
