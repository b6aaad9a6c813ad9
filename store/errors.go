package store

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/durable-go/durable"
)

var (
	// ErrNoChange, returned by an Update function, leaves the document as
	// it is. It is durable.ErrNoChange: either name works.
	ErrNoChange = durable.ErrNoChange
	// ErrConflict: Replace was given a revision that is no longer current.
	// It is durable.ErrConflict.
	ErrConflict = durable.ErrConflict
	// ErrCorrupt: the file does not parse. It is durable.ErrCorrupt; the
	// error that carries it is a *CorruptError (no good version could be
	// recovered) or, from Update and Replace without Options.OnRecover,
	// a *RecoveredError (one was, and the change was not applied to it).
	ErrCorrupt = durable.ErrCorrupt
	// ErrInvalid: an update was refused because the document it produced
	// is invalid: Options.Validate refused it, or it does not encode to
	// JSON that decodes back. Nothing was written.
	ErrInvalid = errors.New("store: invalid document")
	// ErrInsecure is carried by the *InsecureError that Open and Get
	// report (to Options.OnInsecure, or Warnings) when a secret file can
	// be read by its group or by others.
	ErrInsecure = errors.New("store: secret file is readable by others")
)

// RecoveredError reports that the file did not parse and that the newest
// good backup was used instead. The damaged file is never deleted: it is
// kept as MovedTo, and the recovered version replaces it.
//
// Whoever finds it tells Options.OnRecover. Without OnRecover, Open and Get
// return the recovered value with a nil error and keep this for
// Store.Warnings, while Update and Replace restore the backup but do not
// apply the change on top of it: they fail with this error, so that the
// caller decides whether the change still makes sense.
type RecoveredError struct {
	Path    string // the document
	Cause   error  // why it did not parse
	Backup  string // the backup the recovered version came from
	MovedTo string // where the damaged file is kept; "" if it was left in place
	MoveErr error  // why the damaged file could not be set aside and replaced
}

func (e *RecoveredError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "store: %s was corrupt (%v); recovered the last good version from %s", e.Path, e.Cause, e.Backup)
	if e.MovedTo != "" {
		fmt.Fprintf(&b, "; the damaged file is kept as %s", e.MovedTo)
	} else if e.MoveErr != nil {
		fmt.Fprintf(&b, "; the damaged file was left in place (repairing it failed: %v)", e.MoveErr)
	}
	return b.String()
}

func (e *RecoveredError) Unwrap() []error { return []error{ErrCorrupt, e.Cause} }

// CorruptError reports a file that does not parse with no good backup to
// recover from. The file is left exactly as it is, for a person to repair.
type CorruptError struct {
	Path  string
	Cause error    // why it does not parse
	Tried []string // the backups looked at, none of which parsed
}

func (e *CorruptError) Error() string {
	backups := "no backup exists"
	if len(e.Tried) > 0 {
		backups = "no backup parses either (" + strings.Join(e.Tried, ", ") + ")"
	}
	return fmt.Sprintf("store: %s is corrupt (%v) and %s; repair the file or move it away", e.Path, e.Cause, backups)
}

func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Cause} }

// InsecureError warns that a secret file (Options.Secret) can be read by
// its group or by others. Open and Get report it to Options.OnInsecure (or
// Store.Warnings) and still return the value; the mode is never changed
// behind the user's back.
type InsecureError struct {
	Path string
	Mode fs.FileMode
}

func (e *InsecureError) Error() string {
	return fmt.Sprintf("store: secret file %s has mode %#o, readable by group or others (chmod 600 %s)", e.Path, e.Mode.Perm(), e.Path)
}

func (e *InsecureError) Unwrap() error { return ErrInsecure }

// MigrationError reports a schema migration that failed. The file is
// unchanged.
type MigrationError struct {
	From, To int
	Err      error
}

func (e *MigrationError) Error() string {
	return fmt.Sprintf("store: migrating from schema version %d to %d: %v", e.From, e.To, e.Err)
}

func (e *MigrationError) Unwrap() error { return e.Err }

// invalidError is an update refused before anything was written.
type invalidError struct{ err error }

func (e *invalidError) Error() string {
	return "store: refused to write an invalid document: " + e.err.Error()
}

func (e *invalidError) Unwrap() []error { return []error{ErrInvalid, e.err} }

// IsWarning reports whether err carries only warnings (*RecoveredError,
// *InsecureError).
//
// Deprecated: Open and Get no longer return a value together with an
// error: their warnings go to Options.OnRecover and Options.OnInsecure, or
// wait in Store.Warnings, and every error they return is a failure, for
// which IsWarning is false. (Update and Replace fail with a
// *RecoveredError when they recovered the file without OnRecover: that is
// a failure of the update, which was not applied.)
func IsWarning(err error) bool {
	if err == nil {
		return false
	}
	switch err.(type) {
	case *RecoveredError, *InsecureError:
		return true
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs := j.Unwrap()
		for _, e := range errs {
			if !IsWarning(e) {
				return false
			}
		}
		return len(errs) > 0
	}
	return false
}
