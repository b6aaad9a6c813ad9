package durable

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/durable-go/durable/internal/goid"
	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/internal/prerename"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/vfs"
)

// ErrNoChange, returned by an Update function, means "leave the file as it
// is": Update then returns nil without writing.
var ErrNoChange = errors.New("durable: no change")

// Update safely reads, changes and writes back the file name, even when
// other goroutines and processes do the same: it takes the cross-process
// lock on "name.lock", reads the current content (nil if the file does not
// exist), calls fn, and publishes what fn returns with a durable atomic
// replace before releasing the lock. No update is ever lost to a concurrent
// one, and readers need no lock: they see one complete version or the next.
//
// fn returning ErrNoChange leaves the file untouched; any other error
// aborts this update, leaves the file untouched and is returned.
//
// Concurrent Updates of one file within a process run in order under one
// lock and are published with one replace: each fn runs exactly once and
// sees the result of the one before it. Update waits for the lock for at
// most lock.DefaultTimeout; UpdateContext takes a context.
//
// A new file gets mode 0o600 (see NewFileMode). Writers that bypass the lock
// (plain WriteFile) still replace atomically, but an Update may then be
// overwritten by them: give every writer of a file the same discipline.
func Update(name string, fn func(old []byte) ([]byte, error), opts ...Option) error {
	return UpdateContext(context.Background(), name, fn, opts...)
}

// UpdateContext is Update with a context bounding the wait: for the
// updates of the same file queued before this one in this process, and for
// the lock. A caller whose context ends while it waits returns with the
// context's error and its fn is never called, whoever leads its batch; once
// its fn has been called, it waits for the replace.
//
// A panic in fn is raised again in the caller's goroutine once the batch
// is done (it changed nothing); the other updates of its batch go on. An
// Update of the same file from inside fn would wait for itself: it fails
// at once with an error wrapping ErrReentrant.
//
// When the replace of a batch fails, every caller whose fn ran after the
// first change in the batch gets the replace's error (joined with fn's own
// error, if it returned one): its fn saw content that was never written,
// so, as if the calls had run one by one, its call failed and may be
// retried. Callers before that change keep their own outcome.
func UpdateContext(ctx context.Context, name string, fn func(old []byte) ([]byte, error), opts ...Option) error {
	o := collect(opts)
	target, err := o.target(name)
	if err != nil {
		return err
	}
	u := &updateReq{o: &o, name: name, fn: fn}
	err = updaters.Do(ctx, registryKey(vfs.Base(o.fs), target), u, joinUpdates, func(b *group.Batch[*updateReq]) error {
		return o.updateBatch(target, b)
	})
	if err != nil {
		if err == ctx.Err() && errors.Is(err, context.DeadlineExceeded) {
			// It left while the file was held, by this process or
			// another: as for the lock, say so.
			err = fmt.Errorf("%w: %w", ErrLocked, err)
		}
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			err = &fs.PathError{Op: "update", Path: name, Err: err}
		}
		return err
	}
	return u.err
}

// updaters coalesces concurrent Updates of one file; like writers, it holds
// only in-flight work.
var updaters group.Registry[fsPath, *updateReq]

type updateReq struct {
	o    *options
	name string
	fn   func([]byte) ([]byte, error)
	err  error // this caller's own outcome
}

func joinUpdates(batch []*updateReq, u *updateReq) bool {
	b := batch[0]
	return b.o.coalescible(u.o) && b.o.newFileMode == u.o.newFileMode
}

// updateBatch applies every fn of the batch in order under one lock and
// publishes the result once. The returned error is for the whole batch
// (the lock or the read failed); each caller's own outcome is in its
// request.
func (o *options) updateBatch(target string, b *group.Batch[*updateReq]) error {
	batch := b.Items()
	name := batch[0].name
	wrap := func(err error) error { return &fs.PathError{Op: "update", Path: name, Err: err} }
	if err := o.makeDirs(filepath.Dir(target), dirPerm(o.newFileMode)); err != nil {
		return wrap(err)
	}
	// The wait for the lock ends only when every caller has given up.
	ctx, cancel := b.Context()
	defer cancel()
	l, err := o.lock(ctx, target)
	if err != nil {
		return wrap(err)
	}
	defer l.release()

	cur, err := readFile(o.fs, target)
	if errors.Is(err, fs.ErrNotExist) {
		cur, err = nil, nil
	}
	if err != nil {
		return wrap(err)
	}
	if o.ifRev != nil && RevOf(cur) != *o.ifRev {
		return wrap(ErrConflict)
	}
	// After the first change, every fn sees content that is written only
	// if the replace succeeds: those callers share its fate.
	var after []*updateReq
	for i, u := range batch {
		if !b.Claim(i) {
			continue // its context ended first: it returned with its error
		}
		var next []byte
		var err error
		if !b.Call(i, func() { l.h.Do(func() { next, err = u.fn(cur) }) }) {
			continue // it panicked, changing nothing; the panic is its own
		}
		switch {
		case errors.Is(err, ErrNoChange):
		case err != nil:
			u.err = err
		default:
			cur = next
			if after == nil {
				after = make([]*updateReq, 0, len(batch)-i)
			}
		}
		if after != nil {
			after = append(after, u)
		}
	}
	if after == nil {
		return nil
	}
	w := &writeReq{o: o, name: name, data: cur, perm: o.newFileMode}
	var werr error
	if o.verify == nil {
		werr = w.replace(target)
	} else {
		// Verify may not update the file.
		b.User(func() { l.h.Do(func() { werr = w.replace(target) }) })
	}
	if err := werr; err != nil {
		for _, u := range after {
			if u.err == nil {
				u.err = err
			} else {
				u.err = errors.Join(err, u.err)
			}
		}
	}
	return nil
}

// locked is the lock an update holds: release lets it go, and callbacks
// run through h.Do, so that one updating the same file through another API
// is refused as re-entry instead of waiting for itself.
type locked struct {
	h *lock.Held
	m *lock.Mutex // closed on release; nil when the Updater keeps it
}

func (l locked) release() {
	l.h.Unlock()
	if l.m != nil {
		l.m.Close()
	}
}

// lock takes the lock for target: the cross-process lock on the real
// filesystem, and on any other one (the in-memory model) the in-process
// lock that an Updater of the same file takes too.
func (o *options) lock(ctx context.Context, target string) (locked, error) {
	m := lock.New(o.fs, target)
	h, err := m.Lock(ctx)
	if err != nil {
		m.Close()
		return locked{}, err
	}
	return locked{h, m}, nil
}

// NewFileMode sets the mode Update gives a file it creates (0o600 by
// default, less the umask). An existing file keeps its mode.
func NewFileMode(perm fs.FileMode) Option { return func(o *options) { o.newFileMode = perm } }

// ReadRev reads the file and returns its content and Rev. A missing file
// returns nil content, the zero Rev and no error.
func ReadRev(name string, opts ...Option) ([]byte, Rev, error) {
	data, err := ReadFile(name, opts...)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Rev{}, nil
	}
	if err != nil {
		return nil, Rev{}, err
	}
	if data == nil {
		data = []byte{}
	}
	return data, RevOf(data), nil
}

// IfRev makes an Update (or WriteFile) conditional: under the lock, the
// file must still hold the content r was read from, or the write fails with
// ErrConflict and nothing changes. It is for callers that read long before
// they write, such as an editor session; Update alone never conflicts.
func IfRev(r Rev) Option { return func(o *options) { o.ifRev = &r } }

// An Updater updates one file over and over, for a program that keeps the
// file's content in memory between updates (package store keeps one per
// document). Its Update is Update, with the same lock and the same
// guarantees, but cheaper when repeated: it keeps the lock file open between
// updates (except on Windows, where an open file would stop the directory
// from being removed), reads into a buffer it reuses, and, when the file
// still holds what the Updater last published, passes that very slice to
// fn, so that the caller can tell by comparing slices that nobody else
// changed the file. The file is still read on every update: only the
// content tells for sure what is there.
//
// Calls to one Updater's Update run one at a time; unlike the function
// Update, they are not coalesced. Close it when done.
type Updater struct {
	name  string
	plain string // name, cleaned: the target when it is no symbolic link
	o     options

	mu     sync.Mutex
	inFn   atomic.Uint64 // the goroutine running fn, 0 when none: Update from it is re-entry
	m      *lock.Mutex   // kept open for mt; nil before the first update
	mt     string
	target string // the file of the update in progress, for Target
	buf    []byte // read buffer
	last   []byte // what the last update published; nil when unknown
	closed bool
}

// NewUpdater returns an Updater for name. It opens nothing yet. The options
// are those of Update.
func NewUpdater(name string, opts ...Option) *Updater {
	return &Updater{name: name, plain: filepath.Clean(name), o: collect(opts)}
}

// Update is UpdateContext for the Updater's file. fn must not modify old.
// The slice that fn returns is published, and kept: the Updater passes it
// to a later fn as old while the file still holds it, so the caller must
// not modify it until another Update of this Updater has published a new
// version or failed.
//
// An Update of the same Updater from inside fn fails at once with an error
// wrapping ErrReentrant.
func (u *Updater) Update(ctx context.Context, fn func(old []byte) ([]byte, error)) error {
	if !u.mu.TryLock() {
		if g := u.inFn.Load(); g != 0 && g == goid.ID() {
			return &fs.PathError{Op: "update", Path: u.name, Err: ErrReentrant}
		}
		u.mu.Lock()
	}
	defer u.mu.Unlock()
	if u.closed {
		return &fs.PathError{Op: "update", Path: u.name, Err: ErrClosed}
	}
	own := group.IsOwnCode(ctx)
	unpin := func() {}
	if own && goid.From(ctx) == 0 {
		// Package store's, naming no goroutine (goid.With): the lock
		// must know this one, for a Lock from the callback through
		// another API (ErrReentrant). A goid.Token names it for one
		// system call where an id walks the whole stack (about a tenth
		// of a small document's update). It is held from the lock to
		// the callback's end only: a goroutine locked to its thread
		// pays two thread switches at every wait, and the replace waits.
		tok := goid.Pin()
		pinned := true
		unpin = func() {
			if pinned {
				pinned = false
				goid.Unpin(tok)
			}
		}
		defer unpin() // a panic in fn, or a failed begin
		ctx = goid.With(ctx, uint64(tok))
	}
	target, cur, seen, l, err := u.begin(ctx)
	if err != nil {
		u.last = nil
		return err
	}
	u.target = target
	defer func() { u.target = "" }()
	defer l.release()
	o := &u.o
	wrap := func(err error) error { return &fs.PathError{Op: "update", Path: u.name, Err: err} }
	if o.ifRev != nil && RevOf(cur) != *o.ifRev {
		return wrap(ErrConflict)
	}
	var next []byte
	if own {
		// Package store's, which guards its own callbacks against
		// re-entry through this Updater.
		l.h.Do(func() { next, err = fn(cur) })
		unpin() // the token is published no more (Held.Do is done)
	} else {
		u.inFn.Store(goid.ID())
		l.h.Do(func() {
			defer u.inFn.Store(0)
			next, err = fn(cur)
		})
	}
	if errors.Is(err, ErrNoChange) {
		return nil
	}
	if err != nil {
		return err
	}
	u.last = nil // unknown until the replace succeeds
	w := &writeReq{o: o, name: u.name, data: next, perm: o.newFileMode, seen: seen, beforeRename: prerename.From(ctx)}
	if err := w.replace(target); err != nil {
		return err
	}
	u.last = next
	return nil
}

// Target returns the file that the update in progress reads and replaces:
// the Updater's name, past any symbolic links, locked. Only the function
// passed to Update may call it, which needs it to keep other files beside
// the real one (backups); anywhere else it returns "".
func (u *Updater) Target() string { return u.target }

// begin finds the file's real name, takes its lock and reads the file.
func (u *Updater) begin(ctx context.Context) (target string, cur []byte, seen fs.FileInfo, l locked, err error) {
	o := &u.o
	wrap := func(err error) error { return &fs.PathError{Op: "update", Path: u.name, Err: err} }
	if u.m != nil && u.mt == u.plain && openNoFollow != 0 && isOS(o.fs) {
		// Last time the name was no symbolic link. Rather than lstat it
		// again, lock it as it was and open it so that a link now in
		// its place fails the open. Any failure takes the long way
		// below, which also says what went wrong. (The in-memory
		// model has no such open: it always takes the long way.)
		if l, err = u.lock(ctx, u.mt); err != nil {
			return "", nil, nil, locked{}, wrap(err)
		}
		if cur, seen, err = u.read(u.mt, openNoFollow); err == nil {
			return u.mt, cur, seen, l, nil
		}
		l.release()
	}
	if target, err = o.target(u.name); err != nil {
		return "", nil, nil, locked{}, err
	}
	if u.m == nil || u.mt != target {
		// The lock file needs its directory. Once it is open (kept
		// between updates), the replace makes the directory if it went.
		if err := o.makeDirs(filepath.Dir(target), dirPerm(o.newFileMode)); err != nil {
			return "", nil, nil, locked{}, wrap(err)
		}
	}
	if l, err = u.lock(ctx, target); err != nil {
		return "", nil, nil, locked{}, wrap(err)
	}
	// Resolved just now: a link in its place was planted since.
	if cur, seen, err = u.read(target, openNoFollow); err != nil {
		l.release()
		return "", nil, nil, locked{}, wrap(err)
	}
	return target, cur, seen, l, nil
}

func isOS(fsys vfs.FS) bool {
	_, ok := fsys.(vfs.OS)
	return ok
}

// lock takes the lock on target, keeping the lock file open for the next
// update where that is harmless.
func (u *Updater) lock(ctx context.Context, target string) (locked, error) {
	if runtime.GOOS == "windows" {
		return u.o.lock(ctx, target)
	}
	if u.m != nil && u.mt != target {
		// A symbolic link now leads elsewhere.
		u.m.Close()
		u.m = nil
	}
	if u.m == nil {
		u.m, u.mt = lock.New(u.o.fs, target), target
	}
	h, err := u.m.Lock(ctx)
	if err != nil {
		return locked{}, err
	}
	return locked{h: h}, nil
}

// read returns the content of target, nil if it does not exist: the very
// slice the last update published if the file still holds that, and
// otherwise a copy the caller may keep. It also returns what the open file
// said of itself.
func (u *Updater) read(target string, flag int) ([]byte, fs.FileInfo, error) {
	var err error
	var fi fs.FileInfo
	u.buf, fi, err = readInto(u.o.fs, target, flag, u.buf[:0])
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if u.last != nil && bytes.Equal(u.buf, u.last) {
		return u.last, fi, nil
	}
	return bytes.Clone(u.buf), fi, nil
}

// Close releases the lock file. Update then fails with ErrClosed.
func (u *Updater) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return &fs.PathError{Op: "close", Path: u.name, Err: ErrClosed}
	}
	u.closed = true
	u.last, u.buf = nil, nil
	if u.m == nil {
		return nil
	}
	err := u.m.Close()
	u.m = nil
	return err
}
