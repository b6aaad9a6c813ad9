package journal

import (
	"errors"
	"fmt"

	"github.com/durable-go/durable/internal/errs"
)

// The sentinels, the same values as durable's: errors.Is(err,
// durable.ErrCorrupt) holds for an error from this package.
var (
	// ErrCorrupt: a frame, header or segment fails its checksum or does not
	// parse, or the log is not intact.
	ErrCorrupt = errs.ErrCorrupt
	// ErrTampered: every checksum holds but the structure, the Merkle tree
	// or a signature does not, which is what a deliberate change leaves.
	ErrTampered = errs.ErrTampered
	// ErrClosed: the journal was closed.
	ErrClosed = errs.ErrClosed
	// ErrLocked: another process holds the journal's lock for too long.
	ErrLocked = errs.ErrLocked
	// ErrTooLarge: a record's payload is larger than MaxPayload; it was
	// refused before anything was written. (A record larger than a
	// segment but within MaxPayload gets a segment that fits it.)
	ErrTooLarge = errors.New("journal: record larger than MaxPayload")
)

// Error is the error of a journal operation that found something wrong on
// disk or failed an I/O call. It names the file and, where it applies, the
// byte offset; errors.Is finds the cause and, for damage, ErrCorrupt or
// ErrTampered.
type Error struct {
	Op     string // "open", "append", "verify", "recover", ...
	Path   string // the file, or the journal's directory
	Offset int64  // byte offset in Path, or -1
	Err    error  // what went wrong
	kinds  []error
}

func (e *Error) Error() string {
	s := "journal: " + e.Op + " " + e.Path
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at offset %d", e.Offset)
	}
	s += ": " + e.Err.Error()
	for _, k := range e.kinds {
		if !errors.Is(e.Err, k) {
			s += " (" + k.Error() + ")"
			break
		}
	}
	return s
}

// Unwrap returns the cause and the sentinels.
func (e *Error) Unwrap() []error { return append([]error{e.Err}, e.kinds...) }

// damage is a problem found in the files, before it is given an Op.
type damage struct {
	path     string
	off      int64
	err      error
	tampered bool // every checksum held: the structure is wrong
}

func (d *damage) Error() string { return fmt.Sprintf("%s at offset %d: %v", d.path, d.off, d.err) }

func (d *damage) as(op string) *Error {
	e := &Error{Op: op, Path: d.path, Offset: d.off, Err: d.err, kinds: []error{ErrCorrupt}}
	if d.tampered {
		e.kinds = []error{ErrTampered, ErrCorrupt}
	}
	return e
}

func corruptAt(path string, off int64, format string, args ...any) *damage {
	return &damage{path: path, off: off, err: fmt.Errorf(format, args...)}
}

func tamperedAt(path string, off int64, format string, args ...any) *damage {
	return &damage{path: path, off: off, err: fmt.Errorf(format, args...), tampered: true}
}

// wrapErr gives err an Op and a path, turning damage into an *Error.
func wrapErr(op, path string, err error) error {
	if err == nil {
		return nil
	}
	var d *damage
	if errors.As(err, &d) {
		return d.as(op)
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Op: op, Path: path, Offset: -1, Err: err}
}
