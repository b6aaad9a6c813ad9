// Package goid tells goroutines apart, so that a call that would wait for
// its own goroutine (an update of a file from inside an update of the same
// file, a lock taken twice) is refused instead of deadlocking.
//
// Go hides goroutine ids on purpose; this package reads the id from the
// header of the calling goroutine's stack trace. That walks the whole
// stack (5 to 18 µs deep in a store update), so callers take it only where
// re-entry is possible, around callbacks and when an exclusive lock is
// taken, and pass it on (With) rather than take it twice.
package goid

import (
	"context"
	"runtime"
)

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

type ctxKey struct{}

// With marks ctx as used only on the goroutine that id names (a goroutine
// id, or a Token the goroutine holds from Pin until after its last use of
// ctx), so that code it reaches (lock.Mutex.Lock, for the Held's Do) need
// not walk the stack for an id the caller already has: each walk cost a
// store update 5 to 18 µs. Only this module can set it (the package is
// internal), and it must only be set on a ctx whose Lock and Do run on
// that goroutine.
func With(ctx context.Context, id uint64) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the id With put in ctx, 0 if none.
func From(ctx context.Context) uint64 {
	id, _ := ctx.Value(ctxKey{}).(uint64)
	return id
}
