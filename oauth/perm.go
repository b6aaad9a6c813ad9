package oauth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/follow"
	"github.com/durable-go/durable/store"
	"github.com/durable-go/durable/vfs"
)

// NarrowedError reports a token file that its group or others could read
// and that was narrowed to its owner: the permission bits From became To.
// The tokens it held may have been read while it was open to others. It is
// a warning, told to the OnWarning function: errors.Is(err,
// store.ErrInsecure) holds.
type NarrowedError struct {
	Path     string
	From, To fs.FileMode
	insecure *store.InsecureError
}

func (e *NarrowedError) Error() string {
	return fmt.Sprintf("oauth: token file %s had mode %#o, readable by group or others: narrowed to %#o (the tokens in it may have been read; consider revoking them)",
		e.Path, e.From.Perm(), e.To.Perm())
}

// Unwrap gives the *store.InsecureError for the mode the file had, so
// that errors.Is(err, store.ErrInsecure) and errors.As see what it was.
func (e *NarrowedError) Unwrap() []error { return []error{e.insecure} }

// narrowWait bounds the wait for the file's lock when narrowing on behalf
// of a call that has no context (Open, Token, Accounts).
const narrowWait = 5 * time.Second

// errWide aborts a write that found the file open to others.
var errWide = errors.New("oauth: the token file is readable by group or others")

// update runs fn in a store Update, after checking, under the file's
// lock, that the file is not open to group or others. Such a file is
// narrowed (outside this Update, under the same lock, so that no write
// in flight can have read the wider mode) and the write tried again; one
// that cannot be narrowed is not written.
func (t *Tokens) update(ctx context.Context, fn func(*file) error) error {
	for attempt := 0; ; attempt++ {
		var mode fs.FileMode
		_, err := t.st.Update(ctx, func(f *file) error {
			// The store's write keeps the mode the file has now, which
			// it read under this same lock: so a file found narrow here
			// is written narrow.
			if m, wide := t.wideMode(); wide {
				mode = m
				return errWide
			}
			return fn(f)
		})
		if !errors.Is(err, errWide) {
			return err
		}
		w, nerr := t.narrow(ctx)
		if w != nil {
			t.o.warn(w)
		}
		if nerr == nil && attempt > 0 {
			// Narrowed, yet wide again under the lock: something keeps
			// widening it. Refuse rather than race it.
			nerr = errors.New("it became readable by others again")
		}
		if nerr != nil {
			return &insecureWriteError{path: t.path, mode: mode, err: nerr}
		}
	}
}

// writable narrows the file if group or others have access to it, and
// returns the error a write would get if it cannot: a refresh checks it
// before spending the refresh token on a token it could not keep.
func (t *Tokens) writable(ctx context.Context) error {
	mode, wide := t.wideMode()
	if !wide {
		return nil
	}
	w, err := t.narrow(ctx)
	if w != nil {
		t.o.warn(w)
	}
	if err == nil {
		if mode, wide = t.wideMode(); wide {
			err = errors.New("it is still readable by others")
		}
	}
	if err != nil {
		return &insecureWriteError{path: t.path, mode: mode, err: err}
	}
	return nil
}

// insecureWriteError refuses a write of tokens into a file others can read.
type insecureWriteError struct {
	path string
	mode fs.FileMode
	err  error
}

func (e *insecureWriteError) Error() string {
	return fmt.Sprintf("oauth: refusing to write tokens to %s: mode %#o lets group or others read it, and narrowing it failed: %v (chmod 600 %s)",
		e.path, e.mode.Perm(), e.err, e.path)
}

func (e *insecureWriteError) Unwrap() []error { return []error{store.ErrInsecure, e.err} }

// wideMode reports the file's mode if group or others have any access to it.
func (t *Tokens) wideMode() (fs.FileMode, bool) {
	if runtime.GOOS == "windows" || t.o.backend != nil {
		return 0, false // no Unix modes
	}
	fi, err := t.fsys().Stat(t.path)
	if err != nil {
		return 0, false // the store's own write reports what is wrong
	}
	return fi.Mode(), fi.Mode().Perm()&0o077 != 0
}

func (t *Tokens) fsys() vfs.FS {
	if t.o.fs == nil {
		return vfs.OS{}
	}
	return t.o.fs
}

// fixWarnings narrows the file when err (a warning from the store) says it
// is open to others, and returns the warnings as they stand then: a
// *NarrowedError in place of a *store.InsecureError for a file it
// narrowed, nothing for one someone else narrowed meanwhile.
func (t *Tokens) fixWarnings(ctx context.Context, err error) error {
	var out []error
	var each func(error)
	each = func(err error) {
		switch err.(type) {
		case *store.InsecureError:
		case *store.RecoveredError, *NarrowedError:
			out = append(out, err)
			return
		default:
			// Several warnings joined: each in turn.
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					each(e)
				}
			} else {
				out = append(out, err)
			}
			return
		}
		w, nerr := t.narrow(ctx)
		switch {
		case nerr != nil:
			out = append(out, err) // still open to others: the write path refuses
		case w != nil:
			out = append(out, w)
		}
	}
	each(err)
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return errors.Join(out...)
}

// narrow clears the group and other bits of the token file, holding the
// file's lock (the one every store write takes, so no write in flight
// has read the old mode) and acting on the file it opened and checked.
// It returns nil, nil when there was nothing to narrow.
func (t *Tokens) narrow(ctx context.Context) (*NarrowedError, error) {
	if runtime.GOOS == "windows" {
		return nil, nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, narrowWait)
		defer cancel()
	}
	fsys := t.fsys()
	var res *NarrowedError
	err := durable.UpdateContext(ctx, t.path, func([]byte) ([]byte, error) {
		var err error
		if res, err = narrowFile(fsys, t.path); err != nil {
			return nil, err
		}
		return nil, durable.ErrNoChange
	}, durable.WithFS(fsys))
	if err != nil {
		return nil, err
	}
	return res, nil
}

// narrowFile narrows path (past symbolic links, as the store follows
// them) if group or others have access to it.
func narrowFile(fsys vfs.FS, path string) (*NarrowedError, error) {
	target, err := resolve(fsys, path)
	if err != nil {
		return nil, err
	}
	lfi, err := fsys.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !lfi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "narrow", Path: target, Err: fmt.Errorf("not a regular file (%v)", lfi.Mode().Type())}
	}
	if lfi.Mode().Perm()&0o077 == 0 {
		return nil, nil
	}
	flag := os.O_RDONLY
	if _, ok := fsys.(vfs.OS); ok {
		flag |= openNoFollow
	}
	f, err := fsys.OpenFile(target, flag, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || !sameFile(fi, lfi) {
		return nil, &fs.PathError{Op: "narrow", Path: target, Err: errors.New("the file was replaced while being checked")}
	}
	from := fi.Mode().Perm()
	to := from &^ 0o077
	if err := f.Chmod(to); err != nil {
		return nil, err
	}
	return &NarrowedError{Path: path, From: from, To: to, insecure: &store.InsecureError{Path: path, Mode: fi.Mode()}}, nil
}

// resolve follows symbolic links to the file they lead to, as the store
// does when it writes, and refuses, as it does, another user's link in a
// sticky world-writable directory.
func resolve(fsys vfs.FS, name string) (string, error) {
	p, err := follow.Resolve(fsys, name, false)
	if err != nil {
		return "", &fs.PathError{Op: "resolve", Path: name, Err: err}
	}
	return p, nil
}

func sameFile(a, b fs.FileInfo) bool {
	if ma, ok := a.Sys().(*vfs.MemStat); ok {
		mb, ok := b.Sys().(*vfs.MemStat)
		return ok && ma.Ino == mb.Ino
	}
	return os.SameFile(a, b)
}
