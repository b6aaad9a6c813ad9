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
	// ErrSymlink: the target is a symbolic link and NoFollow was given, or
	// it is a link that another user planted in a shared directory (sticky
	// and world-writable, like /tmp), which durable never follows: that
	// error also matches fs.ErrPermission (see the package documentation).
	ErrSymlink = errs.ErrSymlink
	// ErrHardLinked: the target has other hard links, which a replace
	// would split from it, and NoSplitLinks was given; or which an append
	// in place (package jsonl) would change too, which it refuses always.
	ErrHardLinked = errors.New("durable: target has other hard links")
	// ErrUnsafeFile: where durable keeps a file beside the caller's data
	// (a lock, a backup, a journal segment, evidence), it found a symbolic
	// or hard link, a directory, a FIFO or a device, which someone else
	// may have planted there. Nothing was created, changed or locked
	// through it; the error names the path.
	ErrUnsafeFile = errs.ErrUnsafeFile
	// ErrReentrant: an Update (of a file, a store document, a log) was
	// called from inside an update callback of the same one, which would
	// wait for itself; it is refused instead.
	ErrReentrant = errs.ErrReentrant
	// ErrVerify wraps the error of a Verify callback that refused the bytes.
	ErrVerify = errors.New("durable: verification refused the new content")
)
