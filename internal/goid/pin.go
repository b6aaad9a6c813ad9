package goid

import "runtime"

// A Token names one goroutine for as long as it holds it: from Pin to
// the Unpin that follows. Tokens are for re-entry tests that run on every
// operation, where ID's stack walk (about 7 µs even on a shallow stack)
// would be most of the CPU an operation costs: Is(t) tells whether the
// calling goroutine is the one holding t, exactly, while it does.
//
// Where the platform gives a cheap thread id (Linux), Pin locks the
// goroutine to its thread (runtime.LockOSThread) and the token is that
// thread's id, marked so that it never equals a goroutine id: while a
// goroutine is locked to a thread, no other goroutine runs on it, so a
// caller of Is that runs on the token's thread is its holder. Elsewhere
// the token is the goroutine's ID. Code that runs while the token is held
// and calls runtime.UnlockOSThread more often than LockOSThread ends the
// lock early: the holder may then move to another thread and another
// goroutine run on its thread, and Is may mistake one for the other (a
// re-entrant call that waits for itself, or a call refused as re-entrant).
// Neither lets two runners in at once: the lock itself does not depend on
// the token.
type Token uint64

// threadMark sets a thread token apart from goroutine ids.
const threadMark = 1 << 63

// Pin returns a token for the calling goroutine, which must call Unpin
// (deferred, so that a panic or runtime.Goexit also lets go) before it
// does anything else with the thread; the token must no longer be
// published by then. Pins nest, as runtime.LockOSThread does, and leave
// the caller's own LockOSThread in place.
func Pin() Token {
	if !threadTokens {
		return Token(ID())
	}
	runtime.LockOSThread()
	return Token(threadID() | threadMark)
}

// Unpin ends the hold that the Pin which returned t began.
func Unpin(t Token) {
	if t&threadMark != 0 {
		runtime.UnlockOSThread()
	}
}

// Is reports whether the calling goroutine holds t (t is not 0).
func Is(t Token) bool {
	if t&threadMark == 0 {
		return ID() == uint64(t)
	}
	// Locked to its thread while it looks, the caller runs on the
	// token's thread only if it is the holder: the holder stays locked
	// there until it has withdrawn the token.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return Token(threadID()|threadMark) == t
}

// Matches is Is for a caller that may test several tokens, or one token
// several times: a goroutine id it needs is taken once, into *id (0 until
// then), so that only the first test walks the stack.
func Matches(t Token, id *uint64) bool {
	if t&threadMark != 0 {
		return Is(t)
	}
	if *id == 0 {
		*id = ID()
	}
	return *id == uint64(t)
}

// Cheap reports whether Pin costs one system call here (a thread token)
// rather than ID's stack walk: code that would call Pin where it now walks
// the stack once gains only then.
func Cheap() bool { return threadTokens }
