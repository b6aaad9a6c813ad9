// Package goid tells goroutines apart, so that a call that would wait for
// its own goroutine (an update of a file from inside an update of the same
// file, a lock taken twice) is refused instead of deadlocking.
//
// Go hides goroutine ids on purpose; this package reads the id from the
// header of the calling goroutine's stack trace. That costs about a
// microsecond, so callers take it only where re-entry is possible: around
// callbacks, and when an exclusive lock is taken.
package goid

import "runtime"

// ID returns the id of the calling goroutine.
func ID() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	const prefix = "goroutine "
	var id uint64
	for _, c := range buf[len(prefix):n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
