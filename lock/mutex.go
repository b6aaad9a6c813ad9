package lock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sync"

	"github.com/durable-go/durable/internal/goid"
	"github.com/durable-go/durable/vfs"
)

// A Mutex is the lock on one name on a vfs.FS: exclusive (Lock, TryLock)
// or shared (RLock, TryRLock), like the package-level functions, which are
// its shorthand on the OS filesystem. On the real filesystem (vfs.OS, or a
// vfs.Wrapper of it such as a fault injector around it) it is the same
// cross-process lock as the package-level Lock, on the sidecar name+".lock",
// but the sidecar stays open between exclusive locks, which saves an open
// and a close on every Lock of a writer that takes it over and over (a log
// appender, a queue).
// On any other vfs.FS (the in-memory model) there is nothing processes
// could share, so it excludes the goroutines of this process only, on the
// same terms: every Mutex of one name on one filesystem (wrappers looked
// through), and on filesystems that cannot be compared, every such Mutex
// of the name, whatever the filesystem value.
//
// A filesystem that holds real files but is neither vfs.OS nor a
// vfs.Wrapper of it cannot be given the cross-process lock: every method
// refuses it with an error wrapping ErrUnsupportedFS rather than exclude
// this process only.
//
// Close it when done; a Mutex must not be closed while locked.
type Mutex struct {
	fsys vfs.FS // the filesystem under any wrappers
	path string // the sidecar
	key  any    // the in-process lock's key
	os   bool   // the sidecar is a real file, locked across processes

	mu      sync.Mutex
	f       *os.File // the open sidecar (vfs.OS only), opened on first use
	spare   *os.File // a second descriptor of it, for the next wait (waitExclusive)
	closed  bool
	probe   bool  // whether fsys must still be checked for real files
	refused error // why fsys cannot be locked, once probed
}

// ErrUnsupportedFS is wrapped by the error of Lock on a filesystem that
// holds real files (its FileInfo.Sys is the platform's) but is neither
// vfs.OS nor a vfs.Wrapper of it: its cross-process lock cannot be taken.
var ErrUnsupportedFS = errors.New("lock: the filesystem holds real files but is not vfs.OS and does not unwrap to it (vfs.Wrapper), so no cross-process lock can be taken")

// New returns the Mutex for name on fsys. It opens nothing yet.
func New(fsys vfs.FS, name string) *Mutex {
	base := vfs.Base(fsys)
	m := &Mutex{fsys: base, path: name + Suffix}
	abs := m.path
	if a, err := filepath.Abs(m.path); err == nil {
		abs = a
	}
	switch {
	case isOS(base):
		// The same key as Lock uses, so the two exclude each other.
		m.key, m.os = abs, true
	case reflect.TypeOf(base).Comparable():
		m.key = memKey{base, filepath.Clean(m.path)}
		_, mem := base.(*vfs.MemFS)
		m.probe = !mem
	default:
		// A filesystem value that cannot be a map key: every such one
		// meets on the name. That may exclude more than needed (two
		// unrelated models with the same name), never less.
		m.key = opaqueKey(filepath.Clean(m.path))
		m.probe = true
	}
	return m
}

type memKey struct {
	fs   vfs.FS
	path string
}

type opaqueKey string

func isOS(fsys vfs.FS) bool {
	_, ok := fsys.(vfs.OS)
	return ok
}

// realFiles reports whether fsys holds files of the host: the nearest
// existing directory on the way to dir says so through its FileInfo.Sys.
func realFiles(fsys vfs.FS, dir string) bool {
	for d := dir; ; {
		if fi, err := fsys.Lstat(d); err == nil {
			switch fi.Sys().(type) {
			case nil, *vfs.MemStat:
				return false
			}
			return true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return false
		}
		d = parent
	}
}

// Lock takes the lock, waiting like the package-level Lock: until ctx is
// done, or DefaultTimeout if ctx has no deadline.
func (m *Mutex) Lock(ctx context.Context) (*Held, error) {
	l, err := m.lock(ctx)
	if l != nil {
		// Set before anyone else can see l.
		l.doG = goid.From(ctx)
	}
	return l, err
}

func (m *Mutex) lock(ctx context.Context) (*Held, error) {
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
		if err != ErrReentrant {
			err = waitError(parent, ctx, DefaultTimeout)
		}
		return nil, &fs.PathError{Op: "lock", Path: m.path, Err: err}
	}
	f, err := m.file()
	if err != nil {
		e.release(true)
		return nil, &fs.PathError{Op: "lock", Path: m.path, Err: err}
	}
	if f == nil {
		return newHeld(m.path, nil, e, true, true), nil
	}
	err = osLocker{}.tryLock(f, true)
	if err == nil {
		return newHeld(m.path, f, e, true, true), nil
	}
	if errors.Is(err, ErrLocked) {
		// Another process has it: wait in the kernel's queue, on the
		// waiter's own descriptor, which the Held closes.
		var wf *os.File
		spare := m.takeSpare()
		wf, used, werr := waitExclusive(ctx, e, m.path, spare)
		if !used && spare != nil {
			m.putSpare(spare) // another waiter was running: keep it
		}
		if err = werr; err == nil {
			h := newHeld(m.path, wf, e, true, false)
			h.h.Load().spareFor = m
			return h, nil
		}
	}
	e.release(true)
	if errors.Is(err, ErrLocked) {
		err = waitError(parent, ctx, DefaultTimeout)
	}
	return nil, &fs.PathError{Op: "lock", Path: m.path, Err: err}
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
	if m.probe {
		m.probe = false
		if realFiles(m.fsys, filepath.Dir(m.path)) {
			m.refused = fmt.Errorf("%w (%T)", ErrUnsupportedFS, m.fsys)
		}
	}
	if m.refused != nil {
		return nil, m.refused
	}
	if m.f != nil || !m.os {
		return m.f, nil
	}
	f, err := open(m.path, true)
	if err != nil {
		return nil, err
	}
	m.f = f
	return f, nil
}

// takeSpare returns the descriptor kept for waits, if any, and keeps it
// no longer.
func (m *Mutex) takeSpare() *os.File {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.spare
	m.spare = nil
	return f
}

// putSpare keeps f, a descriptor of the sidecar that holds no lock and
// waits for none, for the next wait, and reports whether it did: a closed
// Mutex, or one that keeps another already, leaves f to its caller to
// close.
func (m *Mutex) putSpare(f *os.File) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.spare != nil {
		return false
	}
	m.spare = f
	return true
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
	var err error
	if m.spare != nil {
		err = m.spare.Close()
		m.spare = nil
	}
	if m.f == nil {
		return err
	}
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	m.f = nil
	return err
}
