package lock

import (
	"context"
	"os"
)

// fileWaiter waits for the exclusive file lock in a goroutine of its own,
// blocked in the kernel's lock call (waitLock) on a descriptor of its own,
// so that the lock passes to this process the moment another process
// releases it: no polling, no sleep between attempts. That call cannot be
// cancelled, so a caller whose context ends leaves the waiter behind, and
// the next caller in this process adopts it (a process has at most one per
// name); if the lock comes while nobody wants it, the waiter releases it
// at once. Only the goroutine that holds the name's in-process exclusive
// lock (the entry) uses the waiter, so callers never race for it.
type fileWaiter struct {
	f      *os.File
	done   chan error // the outcome, sent once, to a caller that wants it
	wanted bool       // guarded by entry.mu
}

// run waits for the lock, hands it to the caller that wants it, or gives it
// back. It holds a reference to e until a caller takes its outcome (or it
// gives up), so that e, and the waiter in it, outlive their callers.
func (w *fileWaiter) run(e *entry) {
	err := osLocker{}.waitLock(w.f, true)
	e.mu.Lock()
	if w.wanted {
		w.done <- err
		e.mu.Unlock()
		return
	}
	e.fileWait = nil
	e.mu.Unlock()
	w.f.Close() // gives the lock back, if it came
	e.unref()
}

// waitExclusive takes the exclusive file lock on path through e's waiter,
// starting one if there is none, and returns the descriptor that holds it,
// which the caller closes to release it. A new waiter waits on spare, an
// open descriptor of path that holds no lock and waits for none, when
// there is one (used reports whether it took it), and on one it opens
// otherwise. It returns ErrLocked when ctx ends the wait first. The caller
// holds e exclusively.
func waitExclusive(ctx context.Context, e *entry, path string, spare *os.File) (f *os.File, used bool, err error) {
	e.mu.Lock()
	w := e.fileWait
	e.mu.Unlock()
	if w == nil {
		if f, used = spare, spare != nil; f == nil {
			if f, err = openWaiting(ctx, path, true); err != nil {
				return nil, false, err
			}
		}
		w = &fileWaiter{f: f, done: make(chan error, 1)}
		ref(e.key) // the waiter's reference to e
		e.mu.Lock()
		e.fileWait = w
		w.wanted = true
		e.mu.Unlock()
		go w.run(e)
	} else {
		e.mu.Lock()
		w.wanted = true
		e.mu.Unlock()
	}
	taken := func(err error) (*os.File, bool, error) {
		e.mu.Lock()
		e.fileWait = nil
		e.mu.Unlock()
		e.unref() // the waiter's
		if err != nil {
			w.f.Close()
			return nil, used, err
		}
		return w.f, used, nil
	}
	select {
	case err := <-w.done:
		return taken(err)
	case <-ctx.Done():
	}
	e.mu.Lock()
	w.wanted = false
	select {
	case err := <-w.done:
		// It came as the context ended: give it back.
		e.mu.Unlock()
		if f, _, err := taken(err); err == nil {
			f.Close()
		}
	default:
		e.mu.Unlock()
	}
	return nil, used, ErrLocked
}
