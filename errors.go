package durable

import (
	"errors"

	"github.com/durable-go/durable/internal/errs"
)

// Sentinel errors shared by every package of the module. Test for them with
// errors.Is; the error that carries them also names the file and the cause.
var (
	// ErrCorrupt: data fails its checksum or does not parse.
	ErrCorrupt = errs.ErrCorrupt
	// ErrTampered: a signature or Merkle tree does not verify.
	ErrTampered = errs.ErrTampered
	// ErrLocked: a lock is held by someone else (or the wait timed out).
	ErrLocked = errs.ErrLocked
	// ErrConflict: a precondition on the version read no longer holds.
	ErrConflict = errs.ErrConflict
	// ErrClosed: the object was already closed or committed.
	ErrClosed = errs.ErrClosed
	// ErrReentrant: an Update (of a file, a store document, a log) was
	// called from inside an update callback of the same one, which would
	// wait for itself; it is refused instead.
	ErrReentrant = errs.ErrReentrant
	// ErrSymlink: the target is a symbolic link and NoFollow was given.
	ErrSymlink = errors.New("durable: target is a symbolic link")
	// ErrVerify wraps the error of a Verify callback that refused the bytes.
	ErrVerify = errors.New("durable: verification refused the new content")
)
