package lock

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// The package-level Lock, RLock, TryLock and TryRLock are the OS
// filesystem's shorthand for these methods: Lock(ctx, name) takes the same
// lock as New(vfs.OS{}, name).Lock(ctx), and the two exclude each other.
// They open the sidecar for each lock; a Mutex keeps it open between its
// exclusive locks, for a writer that locks over and over.

// RLock takes a shared lock on the Mutex's name, waiting like Lock. Any
// number of shared holders may hold it together, but not with an exclusive
// one. On the real filesystem the sidecar is opened for this lock alone,
// for reading only (a reader need not be able to write it), as RLock does.
func (m *Mutex) RLock(ctx context.Context) (*Held, error) {
	if err := m.usable(); err != nil {
		return nil, &fs.PathError{Op: "rlock", Path: m.path, Err: err}
	}
	if m.os {
		return acquire(ctx, "rlock", m.name(), false, DefaultTimeout)
	}
	if err := ctx.Err(); err != nil {
		return nil, &fs.PathError{Op: "rlock", Path: m.path, Err: withCause(ctx, err)}
	}
	parent := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	e, err := acquireEntry(ctx, m.key, false)
	if err != nil {
		if err != ErrReentrant {
			err = waitError(parent, ctx, DefaultTimeout)
		}
		return nil, &fs.PathError{Op: "rlock", Path: m.path, Err: err}
	}
	return newHeld(m.path, nil, e, false, true), nil
}

// TryLock takes the exclusive lock if it is free now, and otherwise
// returns an error wrapping ErrLocked at once.
func (m *Mutex) TryLock() (*Held, error) {
	h, done, err := m.lockNow()
	if !done {
		return nil, &fs.PathError{Op: "trylock", Path: m.path, Err: ErrLocked}
	}
	if err != nil {
		if pe, ok := err.(*fs.PathError); ok {
			pe.Op = "trylock"
		}
		return nil, err
	}
	return h, nil
}

// TryRLock takes a shared lock if no exclusive holder has it now, and
// otherwise returns an error wrapping ErrLocked at once.
func (m *Mutex) TryRLock() (*Held, error) {
	if err := m.usable(); err != nil {
		return nil, &fs.PathError{Op: "tryrlock", Path: m.path, Err: err}
	}
	if m.os {
		return try("tryrlock", m.name(), false)
	}
	e, ok := tryAcquireEntry(m.key, false)
	if !ok {
		return nil, &fs.PathError{Op: "tryrlock", Path: m.path, Err: ErrLocked}
	}
	return newHeld(m.path, nil, e, false, true), nil
}

// name is the name the Mutex protects, without the sidecar's suffix.
func (m *Mutex) name() string { return strings.TrimSuffix(m.path, Suffix) }

// usable reports why the Mutex cannot lock (closed, or a filesystem it
// cannot lock across processes), without opening the sidecar.
func (m *Mutex) usable() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.probe {
		m.probe = false
		if realFiles(m.fsys, filepath.Dir(m.path)) {
			m.refused = fmt.Errorf("%w (%T)", ErrUnsupportedFS, m.fsys)
		}
	}
	return m.refused
}
