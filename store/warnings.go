package store

import (
	"errors"
	"sync"
)

// maxWarnings bounds what a Store keeps for Warnings: a program that never
// asks must not grow without limit.
const maxWarnings = 16

// warnings holds what Open and Get found that is not a failure and that no
// Options callback was given for.
type warnings struct {
	mu      sync.Mutex
	list    []error
	dropped int
}

// add keeps err, unless it repeats the last warning kept (a file others
// can read is found again by every Get until someone fixes it).
func (w *warnings) add(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.list); n > 0 && sameWarning(w.list[n-1], err) {
		return
	}
	if len(w.list) == maxWarnings {
		w.list = append(w.list[:0], w.list[1:]...)
		w.dropped++
	}
	w.list = append(w.list, err)
}

func (w *warnings) take() ([]error, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list, dropped := w.list, w.dropped
	w.list, w.dropped = nil, 0
	return list, dropped
}

func sameWarning(a, b error) bool {
	var ia, ib *InsecureError
	if errors.As(a, &ia) && errors.As(b, &ib) {
		return *ia == *ib
	}
	return false
}

// recovered reports a recovery that Open or Get made: to Options.OnRecover,
// or kept for Warnings.
func (s *Store[T]) recovered(rec *RecoveredError) {
	if s.opt.OnRecover != nil {
		s.opt.OnRecover(rec)
		return
	}
	s.warns.add(rec)
}

// insecureFile reports a secret file that others can read: to
// Options.OnInsecure, or kept for Warnings.
func (s *Store[T]) insecureFile(ie *InsecureError) {
	if s.opt.OnInsecure != nil {
		s.opt.OnInsecure(ie)
		return
	}
	s.warns.add(ie)
}

// Warnings returns what Open and Get found that did not make them fail and
// that no Options callback received, oldest first, and forgets it: each
// recovery of a corrupt file from its backup (*RecoveredError, without
// Options.OnRecover) and each finding that a secret file can be read by
// its group or others (*InsecureError, without Options.OnInsecure; a
// finding that repeats the one before is kept once). dropped counts the
// older warnings that were not kept: a Store keeps the last 16.
//
// Open and Get never return a value together with an error: an error means
// the call failed, and these are not failures, so nothing is logged or
// returned for them unless the program asks here or sets the callbacks.
func (s *Store[T]) Warnings() (warns []error, dropped int) { return s.warns.take() }
