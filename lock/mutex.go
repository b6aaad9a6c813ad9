package lock

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sync"

	"github.com/durable-go/durable/vfs"
)

// A Mutex is the exclusive lock on one name, for a writer that takes it
// over and over: a log appender, a queue. On the real filesystem (vfs.OS) it
// is the same cross-process lock as Lock, on the sidecar name+".lock", but
// the sidecar stays open between uses, which saves an open and a close on
// every Lock. On any other vfs.FS (the in-memory model, a fault injector)
// there is nothing processes could share, so it excludes the goroutines of
// this process only, on the same terms.
//
// Close it when done; a Mutex must not be closed while locked.
type Mutex struct {
	fsys vfs.FS
	path string // the sidecar
	key  any    // the in-process lock's key

	mu     sync.Mutex
	f      *os.File // the open sidecar (vfs.OS only), opened on first use
	closed bool
}

// New returns the Mutex for name on fsys. It opens nothing yet.
func New(fsys vfs.FS, name string) *Mutex {
	m := &Mutex{fsys: fsys, path: name + Suffix}
	switch {
	case isOS(fsys):
		// The same key as Lock uses, so the two exclude each other.
		m.key = m.path
		if abs, err := filepath.Abs(m.path); err == nil {
			m.key = abs
		}
	case reflect.TypeOf(fsys).Comparable():
		m.key = memKey{fsys, filepath.Clean(m.path)}
	default:
		m.key = m // a filesystem nobody else can name: private to m
	}
	return m
}

type memKey struct {
	fs   vfs.FS
	path string
}

func isOS(fsys vfs.FS) bool {
	_, ok := fsys.(vfs.OS)
	return ok
}

// Lock takes the lock, waiting like the package-level Lock: until ctx is
// done, or DefaultTimeout if ctx has no deadline.
func (m *Mutex) Lock(ctx context.Context) (*Held, error) {
	if err := ctx.Err(); err != nil {
		return nil, &fs.PathError{Op: "lock", Path: m.path, Err: withCause(ctx, err)}
	}
	if h, done, err := m.lockNow(); done {
		return h, err
	}
	parent := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	e, err := acquireEntry(ctx, m.key, true)
	if err != nil {
		return nil, &fs.PathError{Op: "lock", Path: m.path, Err: waitError(parent, ctx, DefaultTimeout)}
	}
	f, err := m.file()
	if err != nil {
		e.release(true)
		return nil, &fs.PathError{Op: "lock", Path: m.path, Err: err}
	}
	if f != nil {
		if err := poll(ctx, f, true); err != nil {
			e.release(true)
			if errors.Is(err, ErrLocked) {
				err = waitError(parent, ctx, DefaultTimeout)
			}
			return nil, &fs.PathError{Op: "lock", Path: m.path, Err: err}
		}
	}
	return newHeld(m.path, f, e, true, true), nil
}

// lockNow takes the lock if nobody holds it, without setting up a wait
// (a timer and a context per Lock, which showed in every store update). It
// reports done = false when someone holds it, having taken nothing.
func (m *Mutex) lockNow() (h *Held, done bool, err error) {
	e, ok := tryAcquireEntry(m.key, true)
	if !ok {
		return nil, false, nil
	}
	f, err := m.file()
	if err != nil {
		e.release(true)
		return nil, true, &fs.PathError{Op: "lock", Path: m.path, Err: err}
	}
	if f != nil {
		if err := (osLocker{}).tryLock(f, true); err != nil {
			e.release(true)
			if errors.Is(err, ErrLocked) {
				return nil, false, nil
			}
			return nil, true, &fs.PathError{Op: "lock", Path: m.path, Err: err}
		}
	}
	return newHeld(m.path, f, e, true, true), true, nil
}

// file returns the open sidecar, opening it on first use; nil off vfs.OS.
func (m *Mutex) file() (*os.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if m.f != nil || !isOS(m.fsys) {
		return m.f, nil
	}
	f, err := open(m.path, true)
	if err != nil {
		return nil, err
	}
	m.f = f
	return f, nil
}

// Close closes the sidecar. The sidecar file itself stays: it is never
// deleted, since someone may be about to lock it.
func (m *Mutex) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return &fs.PathError{Op: "close", Path: m.path, Err: ErrClosed}
	}
	m.closed = true
	if m.f == nil {
		return nil
	}
	err := m.f.Close()
	m.f = nil
	return err
}
