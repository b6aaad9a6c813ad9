// Package errs holds the sentinel errors that every layer of durable shares.
//
// They live here, below every public package, so that lock (which durable
// imports) and durable (which re-exports them) hand out the very same values:
// errors.Is(err, durable.ErrLocked) holds for an error that came from lock.
package errs

import "errors"

var (
	// ErrCorrupt reports data that fails its checksum or does not parse.
	ErrCorrupt = errors.New("durable: corrupt data")
	// ErrTampered reports data whose signature or tree does not verify.
	ErrTampered = errors.New("durable: tampered data")
	// ErrLocked reports a lock held by someone else.
	ErrLocked = errors.New("durable: locked by another holder")
	// ErrConflict reports a precondition on a version that no longer holds.
	ErrConflict = errors.New("durable: conflicting update")
	// ErrClosed reports use of a closed object.
	ErrClosed = errors.New("durable: use of closed object")
	// ErrSymlink reports a symbolic link that is not followed: the caller
	// asked for none, or it is another user's link in a shared directory.
	ErrSymlink = errors.New("durable: target is a symbolic link")
	// ErrUnsafeFile reports something other than a regular file of its
	// own (a symbolic or hard link, a directory, a FIFO, a device) found
	// at a name where durable keeps a file beside the caller's data.
	ErrUnsafeFile = errors.New("durable: not a regular file with a single name")
	// ErrReentrant reports a call that would wait for itself: an update of
	// a file (a store, a log) from inside an update of the same one.
	ErrReentrant = errors.New("durable: re-entrant call: an update from inside an update of the same file")
)
