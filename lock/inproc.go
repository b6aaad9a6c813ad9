package lock

import (
	"context"
	"sync"

	"github.com/durable-go/durable/internal/goid"
)

// registry maps the absolute path of each sidecar in use to its in-process
// lock. It is package state because a process is one party to the file lock:
// every caller in the process, whatever package or object it came through,
// must meet the others on the same entry. The file lock alone does exclude
// goroutines (OFD, flock and LockFileEx locks conflict between descriptors of
// one process), but it gives the race detector no happens-before edge, makes
// goroutines poll, and on NFS, where flock may be emulated with per-process
// byte-range locks, does not exclude them at all. Entries are reference
// counted and removed when unused, so the map holds only paths in use.
var registry struct {
	mu sync.Mutex
	m  map[any]*entry
}

// entry is a readers-writer lock whose wait can be abandoned, which
// sync.RWMutex cannot. Waiters that want exclusive access hold off new
// shared holders, so that a stream of readers cannot starve a writer.
type entry struct {
	key  any
	refs int // guarded by registry.mu

	mu      sync.Mutex
	readers int
	writer  bool
	// callbackG names the goroutine running a callback under the
	// exclusive lock (Held.Do), as a goid.Token (its id, or a token it
	// holds while the callback runs), 0 when none: a wait from it would
	// be for itself.
	callbackG uint64
	queued    int // exclusive waiters
	// released is closed whenever the state changes; made by the first
	// waiter that needs it (nil when nobody waits: a lock taken and let go
	// with nobody waiting allocates nothing).
	released chan struct{}
	fileWait *fileWaiter // a wait for the exclusive file lock, if one runs
}

func ref(key any) *entry {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.m == nil {
		registry.m = make(map[any]*entry)
	}
	e := registry.m[key]
	if e == nil {
		e = &entry{key: key}
		registry.m[key] = e
	}
	e.refs++
	return e
}

func (e *entry) unref() {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	e.refs--
	if e.refs == 0 {
		delete(registry.m, e.key)
	}
}

// acquireEntry takes the in-process lock for key, or returns ctx.Err().
func acquireEntry(ctx context.Context, key any, exclusive bool) (*entry, error) {
	e := ref(key)
	queued := false
	var me uint64
	for {
		e.mu.Lock()
		if e.take(exclusive) {
			if queued {
				e.queued--
			}
			e.mu.Unlock()
			return e, nil
		}
		if e.writer && e.callbackG != 0 {
			// A callback runs under the lock: if it is this very
			// goroutine (an update of a file from an update callback
			// of the same file, through another API), the wait would
			// be for itself, until ctx ends.
			if goid.Matches(goid.Token(e.callbackG), &me) {
				if queued {
					e.queued--
					e.broadcast()
				}
				e.mu.Unlock()
				e.unref()
				return nil, ErrReentrant
			}
		}
		if exclusive && !queued {
			queued = true
			e.queued++
		}
		if e.released == nil {
			e.released = make(chan struct{})
		}
		wake := e.released
		e.mu.Unlock()

		select {
		case <-wake:
		case <-ctx.Done():
			if queued {
				e.mu.Lock()
				e.queued--
				// Readers held off only by this waiter may go now.
				e.broadcast()
				e.mu.Unlock()
			}
			e.unref()
			return nil, ctx.Err()
		}
	}
}

// tryAcquireEntry takes the in-process lock for key if it is free now.
func tryAcquireEntry(key any, exclusive bool) (*entry, bool) {
	e := ref(key)
	e.mu.Lock()
	ok := e.take(exclusive)
	e.mu.Unlock()
	if !ok {
		e.unref()
		return nil, false
	}
	return e, true
}

// take grants the lock if it can; e.mu must be held.
func (e *entry) take(exclusive bool) bool {
	if e.writer {
		return false
	}
	if exclusive {
		if e.readers > 0 {
			return false
		}
		e.writer = true
		return true
	}
	if e.queued > 0 {
		return false
	}
	e.readers++
	return true
}

func (e *entry) release(exclusive bool) {
	e.mu.Lock()
	if exclusive {
		e.writer = false
	} else {
		e.readers--
	}
	e.broadcast()
	e.mu.Unlock()
	e.unref()
}

// broadcast wakes every waiter to look again; e.mu must be held.
func (e *entry) broadcast() {
	if e.released != nil {
		close(e.released)
		e.released = nil
	}
}
