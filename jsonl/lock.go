package jsonl

import (
	"context"
	"path/filepath"
	"reflect"
	"sync"

	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// locker serialises writers of one file: across processes on the real
// filesystem (package lock, on the sidecar path + ".lock"), within the
// process on any other FS, where there is no cross-process lock to take.
type locker struct {
	fsys vfs.FS
	path string
	own  *memLock // for an FS that cannot be a map key
}

func newLocker(fsys vfs.FS, path string) locker {
	l := locker{fsys: fsys, path: path}
	if _, real := fsys.(vfs.OS); !real && !reflect.TypeOf(fsys).Comparable() {
		l.own = &memLock{ch: make(chan struct{}, 1)}
	}
	return l
}

// lock takes the lock, waiting at most until ctx is done (and, on the real
// filesystem, at most lock.DefaultTimeout when ctx has no deadline).
func (l locker) lock(ctx context.Context) (unlock func(), err error) {
	if _, real := l.fsys.(vfs.OS); real {
		h, err := lock.Lock(ctx, l.path)
		if err != nil {
			return nil, err
		}
		return func() { h.Unlock() }, nil
	}
	if l.own != nil {
		return l.own.acquire(ctx, nil)
	}
	key := memKey{l.fsys, l.path}
	if abs, err := filepath.Abs(l.path); err == nil {
		key.path = abs
	}
	memLocks.mu.Lock()
	if memLocks.m == nil {
		memLocks.m = map[memKey]*memLock{}
	}
	m := memLocks.m[key]
	if m == nil {
		m = &memLock{ch: make(chan struct{}, 1)}
		memLocks.m[key] = m
	}
	m.refs++
	memLocks.mu.Unlock()
	unref := func() {
		memLocks.mu.Lock()
		if m.refs--; m.refs == 0 {
			delete(memLocks.m, key)
		}
		memLocks.mu.Unlock()
	}
	return m.acquire(ctx, unref)
}

// memLocks holds the in-process locks in use, by filesystem and path; an
// entry goes when nobody holds or waits for it, so crash tests that make
// thousands of filesystems leave nothing behind.
var memLocks struct {
	mu sync.Mutex
	m  map[memKey]*memLock
}

type memKey struct {
	fsys vfs.FS
	path string
}

type memLock struct {
	ch   chan struct{} // holds a token while locked
	refs int           // holders and waiters; guarded by memLocks.mu
}

func (m *memLock) acquire(ctx context.Context, done func()) (func(), error) {
	select {
	case m.ch <- struct{}{}:
	case <-ctx.Done():
		if done != nil {
			done()
		}
		return nil, ctx.Err()
	}
	return func() {
		<-m.ch
		if done != nil {
			done()
		}
	}, nil
}
