package lock

import (
	"context"
	"errors"
	"io/fs"
	"runtime"
)

// ErrLost is wrapped by the error of Held.Check, and of Unlock, once a lock
// held elsewhere (see Remote) was lost without being released: the
// database session that held it ended, so another holder may have it now.
var ErrLost = errors.New("lock: the lock was lost: the session that held it ended")

// Remote is a lock held somewhere other than a lock file, such as a
// PostgreSQL advisory lock held by one database session (package
// github.com/durable-go/durable/pg). Adopt wraps it in a Held, so code
// that takes and releases locks does not change when the lock moves
// there.
//
// Unlike a file lock, which lives as long as the process, a remote lock
// can be lost while it is held: its connection breaks, the server
// restarts or an administrator ends the session. The holder is never left
// to find out silently: Lost is closed and Check fails with ErrLost.
type Remote interface {
	// Release gives the lock up. It returns an error wrapping ErrLost if
	// the lock had already been lost.
	Release() error
	// Check asks whether the lock is still held, bounded by ctx: nil if
	// it is, an error wrapping ErrLost if it is not, another error if it
	// could not be told (and then the holder must assume it is lost).
	Check(ctx context.Context) error
	// Lost is closed as soon as the holder learns the lock was lost.
	Lost() <-chan struct{}
}

// Adopt returns a Held for a lock held elsewhere; name identifies it in
// errors. Its Unlock calls r.Release.
func Adopt(name string, r Remote) *Held {
	h := &held{path: name, remote: r}
	l := &Held{path: name}
	l.h.Store(h)
	l.cleanup = runtime.AddCleanup(l, releaseLost, h)
	return l
}

// Lost returns a channel that is closed if the lock is lost without
// Unlock, which only a Remote lock can be; for a file lock it is nil (it
// never fires), and after Unlock it is closed.
func (l *Held) Lost() <-chan struct{} {
	h := l.h.Load()
	if h == nil {
		return closedChan
	}
	if h.remote == nil {
		return nil
	}
	return h.remote.Lost()
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Check reports whether the lock is still held: an error wrapping
// ErrClosed after Unlock, ErrLost if a Remote lock was lost. Call it
// before acting on what the lock protects when that act cannot be undone
// (a call to a server that spends a one-time token, say): a file lock is
// held until Unlock, a Remote one is asked, bounded by ctx.
func (l *Held) Check(ctx context.Context) error {
	h := l.h.Load()
	if h == nil {
		return &fs.PathError{Op: "check", Path: l.path, Err: ErrClosed}
	}
	if h.remote == nil {
		return nil
	}
	if err := h.remote.Check(ctx); err != nil {
		return &fs.PathError{Op: "check", Path: l.path, Err: err}
	}
	return nil
}
