package lock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/durable-go/durable/internal/errs"
	"github.com/durable-go/durable/internal/goid"
	sidecarfile "github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/vfs"
)

var (
	// ErrLocked is wrapped by the error returned when another holder has the
	// lock: at once from TryLock and TryRLock, after the wait from Lock and RLock.
	ErrLocked = errs.ErrLocked
	// ErrClosed is wrapped by the error from a second Unlock.
	ErrClosed = errs.ErrClosed
	// ErrReentrant is wrapped by the error from Lock or RLock called from
	// a callback that runs under the exclusive lock on the same name
	// (Held.Do), which would wait for itself: it fails at once instead.
	ErrReentrant = errs.ErrReentrant
)

// DefaultTimeout bounds a wait whose context has no deadline. Waiting forever
// by default turns one stuck holder into a hung fleet; a bounded wait turns
// it into an error someone sees.
const DefaultTimeout = 30 * time.Second

// Suffix is appended to a name to form its sidecar lock file.
const Suffix = ".lock"

// Back-off between non-blocking attempts (shared waits, and opens Windows
// refuses while another program holds the file): short at first, because
// most holds are brief, and capped, so that a released lock is noticed soon.
const (
	minBackoff = time.Millisecond
	maxBackoff = 50 * time.Millisecond
)

// Held is a lock held on a name. Release it with Unlock.
type Held struct {
	path    string // the sidecar, for errors
	h       atomic.Pointer[held]
	cleanup runtime.Cleanup
	doG     uint64 // the goroutine that calls Do (a goid.Token), if the Lock's ctx said (goid.With); 0: ask
}

// held is what must be released. It is separate from Held so that the
// garbage-collector cleanup can reach it without keeping Held alive.
type held struct {
	path      string
	f         *os.File // nil for a Mutex off the real filesystem
	entry     *entry
	exclusive bool
	keepOpen  bool   // f belongs to a Mutex: unlock it, do not close it
	spareFor  *Mutex // f is a waiter's descriptor that may go back to this Mutex
	remote    Remote // a lock held elsewhere (remote.go): release it there
}

// Lock takes an exclusive lock protecting the file name, waiting until it is
// free, ctx is done, or DefaultTimeout passes if ctx has no deadline. The
// lock is taken on the sidecar name + ".lock", which is created if missing.
//
// Lock and the other package-level functions are the shorthand, on the
// operating system's filesystem, of the methods of New(vfs.OS{}, name): the
// same lock, which excludes theirs. For another vfs.FS, or to keep the
// sidecar open between locks, use New.
//
// When the wait runs out of time the error wraps ErrLocked and
// context.DeadlineExceeded; when ctx is cancelled it wraps context.Canceled.
func Lock(ctx context.Context, name string) (*Held, error) {
	return acquire(ctx, "lock", name, true, DefaultTimeout)
}

// RLock takes a shared lock protecting the file name; it waits like Lock.
// It is Mutex.RLock on the OS filesystem.
func RLock(ctx context.Context, name string) (*Held, error) {
	return acquire(ctx, "rlock", name, false, DefaultTimeout)
}

// TryLock takes an exclusive lock protecting the file name if it is free now,
// and otherwise returns an error wrapping ErrLocked at once. It is
// Mutex.TryLock on the OS filesystem.
func TryLock(name string) (*Held, error) {
	return try("trylock", name, true)
}

// TryRLock takes a shared lock protecting the file name if no exclusive
// holder has it now, and otherwise returns an error wrapping ErrLocked at once.
// It is Mutex.TryRLock on the OS filesystem.
func TryRLock(name string) (*Held, error) {
	return try("tryrlock", name, false)
}

// Do runs fn, a callback into the code of whoever took the lock (the
// function of an update), while the lock is held. A Lock or RLock of the
// same name from fn's goroutine would wait for itself; it fails at once
// with an error wrapping ErrReentrant instead. Other goroutines wait as
// usual, and outside Do a goroutine may wait for a lock it handed to
// another to release.
func (l *Held) Do(fn func()) {
	h := l.h.Load()
	if h == nil || !h.exclusive || h.entry == nil {
		fn()
		return
	}
	e := h.entry
	me := l.doG
	if me == 0 {
		me = goid.ID()
	}
	e.mu.Lock()
	prev := e.callbackG
	e.callbackG = me
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.callbackG = prev
		e.mu.Unlock()
	}()
	fn()
}

// Unlock releases the lock. A second call returns an error wrapping ErrClosed.
func (l *Held) Unlock() error {
	h := l.h.Swap(nil)
	if h == nil {
		return &fs.PathError{Op: "unlock", Path: l.path, Err: ErrClosed}
	}
	l.cleanup.Stop()
	return h.release()
}

func try(op, name string, exclusive bool) (*Held, error) {
	path, key, err := sidecar(name)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name + Suffix, Err: err}
	}
	e, ok := tryAcquireEntry(key, exclusive)
	if !ok {
		return nil, &fs.PathError{Op: op, Path: path, Err: ErrLocked}
	}
	f, err := open(path, exclusive)
	if openBusy(err) {
		err = fmt.Errorf("%w: %w", ErrLocked, err)
	}
	if err == nil {
		err = osLocker{}.tryLock(f, exclusive)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		e.release(exclusive)
		return nil, &fs.PathError{Op: op, Path: path, Err: err}
	}
	return newHeld(path, f, e, exclusive, false), nil
}

// acquire is Lock and RLock, with the default timeout as a parameter so that
// tests can exercise it without waiting half a minute.
func acquire(ctx context.Context, op, name string, exclusive bool, defaultTimeout time.Duration) (*Held, error) {
	path, key, err := sidecar(name)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name + Suffix, Err: err}
	}
	if err := ctx.Err(); err != nil {
		// Done before we looked: nobody was found holding the lock.
		return nil, &fs.PathError{Op: op, Path: path, Err: withCause(ctx, err)}
	}
	parent := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}

	// The in-process lock comes first: goroutines queue on it without
	// polling, and its mutex gives the race detector the happens-before edge
	// that a system call does not.
	e, err := acquireEntry(ctx, key, exclusive)
	if err != nil {
		if err != ErrReentrant {
			err = waitError(parent, ctx, defaultTimeout)
		}
		return nil, &fs.PathError{Op: op, Path: path, Err: err}
	}
	f, err := openWaiting(ctx, path, exclusive)
	if err != nil {
		e.release(exclusive)
		if errors.Is(err, ErrLocked) {
			err = waitError(parent, ctx, defaultTimeout)
		}
		return nil, &fs.PathError{Op: op, Path: path, Err: err}
	}
	if exclusive {
		err = osLocker{}.tryLock(f, true)
		if errors.Is(err, ErrLocked) {
			// Wait in the kernel's queue, on the waiter's descriptor.
			f.Close()
			f, _, err = waitExclusive(ctx, e, path, nil)
		} else if err != nil {
			f.Close()
		}
	} else if err = poll(ctx, f, false); err != nil {
		f.Close()
	}
	if err != nil {
		e.release(exclusive)
		if errors.Is(err, ErrLocked) {
			err = waitError(parent, ctx, defaultTimeout)
		}
		return nil, &fs.PathError{Op: op, Path: path, Err: err}
	}
	return newHeld(path, f, e, exclusive, false), nil
}

// openWaiting is open, waiting while another program holds the sidecar
// open without sharing it (on Windows antivirus, backup and sync tools do):
// the lock is busy, not broken. It returns ErrLocked when ctx ends the
// wait.
func openWaiting(ctx context.Context, path string, exclusive bool) (*os.File, error) {
	var f *os.File
	var err error
	if werr := retry(ctx, func() bool {
		f, err = open(path, exclusive)
		return !openBusy(err)
	}); werr != nil {
		return nil, werr
	}
	return f, err
}

// poll retries a non-blocking lock until it succeeds or ctx is done: a
// blocking flock or LockFileEx cannot be cancelled. It returns ErrLocked when
// ctx ends the wait. Shared waits use it; exclusive ones wait in the
// kernel's queue (waitExclusive), so that writers taking turns hand the
// lock over without a sleep.
func poll(ctx context.Context, f *os.File, exclusive bool) error {
	var err error
	if werr := retry(ctx, func() bool {
		err = osLocker{}.tryLock(f, exclusive)
		return !errors.Is(err, ErrLocked)
	}); werr != nil {
		return werr
	}
	return err
}

// retry calls try until it reports that it is done, sleeping between calls
// for a backoff that doubles from minBackoff to maxBackoff. It returns
// ErrLocked when ctx ends the wait first.
func retry(ctx context.Context, try func() (done bool)) error {
	var timer *time.Timer
	backoff := minBackoff
	for !try() {
		// Jitter keeps waiters in several processes from retrying in step.
		d := backoff/2 + rand.N(backoff/2+1)
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			return ErrLocked
		case <-timer.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
	return nil
}

// waitError says why a wait ended: parent is the caller's context, ctx the
// one bounded by the default timeout. Running out of time means someone else
// has the lock (ErrLocked); cancellation is the caller's doing and says so.
func waitError(parent, ctx context.Context, defaultTimeout time.Duration) error {
	err := ctx.Err()
	if !errors.Is(err, context.DeadlineExceeded) {
		return withCause(parent, err)
	}
	if parent.Err() == nil {
		// Our own bound fired, not the caller's deadline.
		return fmt.Errorf("%w: gave up after %v: %w", ErrLocked, defaultTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrLocked, err)
}

// withCause adds the reason given to context.WithCancelCause, if any.
func withCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

// sidecar returns the lock file's path as given and its cleaned absolute
// form, which keys the in-process lock.
func sidecar(name string) (path, key string, err error) {
	if name == "" {
		return "", "", errors.New("empty file name")
	}
	path = name + Suffix
	key, err = filepath.Abs(path)
	if err != nil {
		return "", "", err
	}
	return path, key, nil
}

// open opens the sidecar, creating it if missing. Go opens files
// close-on-exec (non-inheritable on Windows), so a child process never holds
// the lock on our behalf. A shared lock needs only read access, so a reader
// can lock a sidecar it may not write.
//
// The sidecar may sit in a directory others can write, and root may be the
// one locking: it is never opened through a link, never waited on if it is
// a FIFO, and refused unless it is a regular file with no other name, so
// that nothing outside is ever created or locked (internal/sidecar). One it
// creates gets the owner, group and mode of the file it guards, so that
// root's lock never locks the file's owner out, and the members of a
// group file's group can all lock it.
func open(path string, exclusive bool) (*os.File, error) {
	flag := os.O_RDONLY
	if exclusive {
		flag = os.O_RDWR
	}
	f, err := sidecarfile.OpenLock(vfs.OS{}, path, strings.TrimSuffix(path, Suffix), flag)
	if err != nil {
		// Strip the PathError: the caller adds its own, with its Op.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, err
	}
	return f.(*os.File), nil
}

func newHeld(path string, f *os.File, e *entry, exclusive, keepOpen bool) *Held {
	h := &held{path: path, f: f, entry: e, exclusive: exclusive, keepOpen: keepOpen}
	l := &Held{path: path}
	l.h.Store(h)
	l.cleanup = runtime.AddCleanup(l, releaseLost, h)
	return l
}

// releaseLost runs when a Held is garbage without Unlock. Releasing it keeps
// one bug from blocking every other holder; saying so lets someone fix the bug.
func releaseLost(h *held) {
	fmt.Fprintf(os.Stderr, "durable/lock: lock on %s was never unlocked; releasing it\n", h.path)
	h.release()
}

// release drops the file lock, then the in-process lock, the reverse of the
// order they were taken in.
func (h *held) release() error {
	if h.remote != nil {
		if err := h.remote.Release(); err != nil {
			return &fs.PathError{Op: "unlock", Path: h.path, Err: err}
		}
		return nil
	}
	var err error
	if h.f != nil {
		err = osLocker{}.unlock(h.f)
		// A waiter's descriptor, unlocked, holds nothing and waits for
		// nothing: its Mutex keeps it for its next wait, which then
		// opens no descriptor (and checks no sidecar) at each hand-over.
		if h.spareFor != nil && err == nil && h.spareFor.putSpare(h.f) {
			h.f = nil
		} else if !h.keepOpen {
			// Close releases the lock too, so the lock never outlives it.
			if cerr := h.f.Close(); err == nil {
				err = cerr
			}
		}
	}
	h.entry.release(h.exclusive)
	if err != nil {
		return &fs.PathError{Op: "unlock", Path: h.path, Err: err}
	}
	return nil
}

// sysLocker is the seam between this file and the platform's lock call. Each
// platform file defines osLocker to implement it.
type sysLocker interface {
	// tryLock makes one attempt that never blocks. It returns ErrLocked if a
	// conflicting lock is held, through this or any other descriptor.
	tryLock(f *os.File, exclusive bool) error
	// waitLock blocks until it takes the lock on f (the kernel queues the
	// waiters and grants the lock as soon as it is released), or fails.
	// It cannot be cancelled: see fileWaiter.
	waitLock(f *os.File, exclusive bool) error
	// unlock releases what tryLock or waitLock took on f.
	unlock(f *os.File) error
}

var _ sysLocker = osLocker{}
