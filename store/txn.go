package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"reflect"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/goid"
	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/internal/jsonenc"
	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/internal/prerename"
	"github.com/durable-go/durable/vfs"
)

// Transactions: requests, their batching (batch.go) and the engine that
// applies a batch and publishes it with one replace.

type request[T any] struct {
	s       *Store[T]
	ctx     context.Context
	fn      func(*T) error
	replace *T
	ifRev   durable.Rev
	load    bool      // Get's repair: recover or migrate, nothing else
	member  *memberOp // UpdateMember's change, which fn makes too (member.go)

	b *group.Batch[job] // the batch that holds it, and where
	i int

	changed  bool
	decided  bool // its function ran (or its Replace was checked)
	unseen   bool // it was decided on changes not yet written (the write's fate is its own)
	panicked any
	err      error
	warn     error
	rev      durable.Rev
}

func (r *request[T]) owner() any { return r.s }

// claim commits the batch to r (group.Batch.Claim): false when its caller
// has left, with its context's error, and r must be left alone.
func (r *request[T]) claim() bool { return r.b == nil || r.b.Claim(r.i) }

func (s *Store[T]) do(r *request[T]) {
	err := batchers.Do(r.ctx, s.key, r, sameOwner, func(b *group.Batch[job]) error {
		reqs := requests[T](b)
		if s.log != nil {
			s.runLog(b, reqs) // log.go
			return nil
		}
		steal := func() []*request[T] {
			if st := b.Steal(func(items []job) bool { return items[0].owner() == s }); st != nil {
				return requests[T](st)
			}
			return nil
		}
		if s.pinsCallbacks() {
			s.run(reqs, steal) // it marks the callbacks alone (run)
		} else {
			b.User(func() { s.run(reqs, steal) })
		}
		return nil
	})
	if err != nil && r.err == nil {
		r.err = err
	}
	if r.panicked != nil {
		panic(r.panicked)
	}
}

// pinsCallbacks reports whether run marks only the calls of user code
// (transact, OnRecover) as the batch's callbacks, naming the goroutine
// with a goid.Token while they run (group.Batch.UserPinned), rather than
// the whole run with its goroutine id (group.Batch.User), which walks the
// stack: about a tenth of the CPU of a small document's update. Only on
// the OS: any other vfs.FS is user code too, called all through run (and
// a Backend's is called back from its own goroutines). Outside the
// callbacks this module's code alone runs on the goroutine, and it never
// calls back into the store: nothing there needs the mark. Only where a
// token costs less than an id (goid.Cheap, Linux): elsewhere a token is an
// id, and the Updater and run would each take one.
func (s *Store[T]) pinsCallbacks() bool {
	_, ok := s.fs.(vfs.OS)
	return ok && s.be == nil && goid.Cheap()
}

// requests returns the requests of b, each knowing its place in b.
func requests[T any](b *group.Batch[job]) []*request[T] {
	items := b.Items()
	reqs := make([]*request[T], len(items))
	for i, j := range items {
		r := j.(*request[T])
		r.b, r.i = b, i
		reqs[i] = r
	}
	return reqs
}

// Taking over waiting batches stops after this many, so that a steady
// stream of requests cannot hold a write back forever.
const maxSteals = 8

// txn is what one transaction did.
type txn struct {
	old       []byte
	wrote     bool
	data      []byte
	rev       durable.Rev
	revDone   chan durable.Rev // rev, while it is computed beside the write
	recovered *RecoveredError
}

// asyncRev is the size of document from which its Rev is computed while
// the file is written and fsynced rather than before: a pass over the
// whole document (RevTracker compares it with the last one) that would
// otherwise add to every update.
const asyncRev = 256 << 10

func (s *Store[T]) run(batch []*request[T], steal func() []*request[T]) {
	// The lock is waited for until every caller has given up.
	ctx, cancel := batch[0].ctx, context.CancelFunc(func() {})
	if b := batch[0].b; b != nil {
		ctx, cancel = b.Context()
	}
	defer cancel()
	var tx txn
	steals := 0
	// A panic here (a bug in the store, or OnRecover's) is raised in this
	// goroutine; the group answers every other caller with an error.
	// Requests taken over from the next batch join this one before it
	// writes; they are answered with it.
	more := func() []*request[T] {
		if steals >= maxSteals {
			return nil
		}
		reqs := steal()
		if reqs == nil {
			return nil
		}
		steals++
		batch = append(batch, reqs...)
		return reqs
	}
	// The batch guards the callbacks against re-entry (group.Batch.User):
	// the Updater need not. The lock still guards them against re-entry
	// through other APIs (lock.Held.Do): it is told the id the batch took,
	// or, where the callbacks are marked alone (pinsCallbacks), the
	// Updater names the goroutine itself. Not a Backend's: it might lock
	// and call back on another goroutine.
	uctx := group.OwnCode(ctx)
	user := func(fn func()) { fn() } // do ran all of run as the batch's user code
	if b := batch[0].b; b != nil && s.be == nil {
		if s.pinsCallbacks() {
			user = func(fn func()) { b.UserPinned(func(goid.Token) { fn() }) }
		} else {
			uctx = goid.With(uctx, b.Goroutine())
		}
	}
	// The rename of the new version waits for the backup rotation
	// running while it is written (startRotate).
	if !mutate.StoreRenameBeforeRotation {
		uctx = prerename.With(uctx, s.waitRotated)
	}
	err := s.update(uctx, func(old []byte) (data []byte, err error) {
		user(func() {
			tx = txn{old: old}
			data, err = s.transact(&tx, batch, old, more)
		})
		return data, err
	})
	if tx.revDone != nil {
		tx.rev = <-tx.revDone // before anything touches the state again
	}
	if werr := s.waitRotated(); err == nil {
		err = werr // only if the replace never reached its rename
	}
	if err != nil {
		// The document in memory may hold changes that never reached the
		// disk: load it again next time.
		s.st = nil
		for _, r := range batch {
			if !r.claim() {
				continue // it left with its context's error
			}
			switch {
			case r.decided && !r.unseen && r.err == nil:
				// It decided on the file as it is, to change nothing:
				// that holds whatever became of the others' changes.
				r.rev = durable.RevOf(tx.old)
			case r.err == nil || (tx.recovered != nil && r.err == error(tx.recovered)):
				r.err = err // a recovery that was not written did not happen
			case r.unseen:
				// Its function refused a document that was never
				// written: one by one, it would have seen another.
				r.err = errors.Join(err, r.err)
			}
		}
		return
	}
	if tx.wrote && s.st != nil {
		if !s.st.missing {
			s.spare = s.st.file // nobody else holds it
		}
		s.st.file, s.st.missing = tx.data, false
	}
	if tx.wrote {
		s.mu.Lock()
		s.seenValid = false // our own write: Changed says so until the next Get
		s.mu.Unlock()
	}
	if tx.recovered != nil && s.opt.OnRecover != nil {
		user(func() { s.opt.OnRecover(tx.recovered) })
	}
	rev := tx.rev
	if !tx.wrote {
		if s.st != nil && s.st.holds(tx.old) {
			rev = s.st.rev()
		} else {
			rev = durable.RevOf(tx.old)
		}
	}
	for _, r := range batch {
		if r.err == nil && r.claim() {
			r.rev = rev
		}
	}
}

// transact runs under the file's lock, with old the file's content (nil
// if it does not exist), and returns what to publish.
func (s *Store[T]) transact(tx *txn, batch []*request[T], old []byte, more func() []*request[T]) ([]byte, error) {
	// The file's real name (past symbolic links, s.upd.Target) is needed
	// only to load a document anew or to keep backups.
	st, fx := s.st, fix{}
	if st == nil || !st.holds(old) {
		var err error
		st, fx, err = s.stateFor(s.updateTarget(), old)
		if err != nil {
			s.st = nil
			return nil, err
		}
	}
	if fx.recovered != nil {
		tx.recovered = fx.recovered
		if s.opt.OnRecover == nil {
			// Publish the recovered version alone: nobody's change is
			// applied to it unseen.
			s.st = nil
			for _, r := range batch {
				if !r.claim() {
					continue
				}
				if r.load {
					r.warn = fx.recovered
				} else {
					r.err = fx.recovered
				}
			}
			tx.wrote, tx.data, tx.rev = true, fx.data, durable.RevOf(fx.data)
			return fx.data, nil
		}
	}
	s.st = st
	dirty := fx.write // the state differs from old
	for {
		if len(batch) == 0 {
			// Take over requests that arrived meanwhile: they are
			// applied before the write, and answered by it.
			if batch = more(); len(batch) == 0 {
				break
			}
		}
		r := batch[0]
		batch = batch[1:]
		if !r.claim() {
			continue // its context ended first: it was answered with its error
		}
		if r.load {
			continue
		}
		r.decided, r.unseen = true, dirty
		if r.replace != nil {
			cur := st.rev()
			if dirty {
				data, err := s.c.document(nil, st)
				if err != nil {
					return nil, err
				}
				cur = st.versions.Rev(data)
			}
			if cur != r.ifRev {
				r.err = &fs.PathError{Op: "replace", Path: s.path, Err: fmt.Errorf("%w: the document is at %v, not %v", ErrConflict, cur, r.ifRev)}
				continue
			}
		}
		if err := s.apply(st, r); err != nil {
			if errors.Is(err, errBroken) {
				s.st = nil
				return nil, err
			}
			r.err = err
			continue
		}
		dirty = dirty || r.changed
		r.unseen = dirty
	}
	if !dirty {
		return nil, durable.ErrNoChange
	}
	data, err := s.c.document(s.spare[:0], st)
	s.spare = nil
	if err != nil {
		s.st = nil
		return nil, err
	}
	if old != nil && fx.recovered == nil && s.backups > 0 {
		if err := s.startRotate(s.upd.Target()); err != nil {
			s.st = nil
			return nil, err
		}
	}
	tx.wrote, tx.data = true, data
	if len(data) < asyncRev {
		tx.rev = st.versions.Rev(data)
		return data, nil
	}
	// Nothing changes data or the state until run has the Rev.
	done := make(chan durable.Rev, 1)
	tx.revDone = done
	go func() { done <- st.versions.Rev(data) }()
	return data, nil
}

var errBroken = errors.New("store: the document in memory could not be restored after a failed update")

var errPanicked = errors.New("store: the update function panicked")

// apply runs one request on the state and brings the encoding up to date;
// on failure it undoes whatever the request changed.
func (s *Store[T]) apply(st *state, r *request[T]) (err error) {
	ptr := st.val.Addr().Interface().(*T)
	restore := s.c.enc.SaveForUndo(st.root, st.val)
	undo := func() error {
		if err := restore(); err != nil {
			return fmt.Errorf("%w: %w", errBroken, err)
		}
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			r.panicked = p
			err = errPanicked
			if uerr := undo(); uerr != nil {
				err = uerr
			}
		}
	}()
	if r.replace != nil {
		*ptr = *r.replace
	} else {
		err = r.fn(ptr)
	}
	if err == nil && s.opt.Validate != nil {
		if verr := s.opt.Validate(*ptr); verr != nil {
			err = &invalidError{verr}
		}
	}
	if err == nil {
		var root *jsonenc.Tree
		root, r.changed, err = s.c.enc.Sync(st.root, st.val)
		if err == nil {
			st.root = root
			return nil
		}
		err = &invalidError{err}
	}
	if uerr := undo(); uerr != nil {
		return uerr
	}
	if errors.Is(err, ErrNoChange) {
		return nil
	}
	return err
}

// fix is what loading a file had to do before updates could start.
type fix struct {
	write     bool            // the state must be written even if no update changes it
	recovered *RecoveredError // the file was corrupt; data is the backup's content
	data      []byte
}

// stateFor returns the document the file content old holds, from memory
// when this Store wrote or read exactly that content last.
func (s *Store[T]) stateFor(target string, old []byte) (*state, fix, error) {
	var fx fix
	if st := s.st; st != nil && st.holds(old) {
		return st, fx, nil
	}
	// Keep a copy: old may be a buffer someone else reuses.
	st := &state{file: bytes.Clone(old)}
	var p *parsed
	if old == nil {
		st.missing = true
		ptr := new(T)
		*ptr = s.defaultValue()
		p = &parsed{val: reflect.ValueOf(ptr).Elem(), version: s.c.version}
	} else {
		var err error
		p, err = s.c.parse(old)
		if err != nil && s.be != nil {
			return nil, fx, &CorruptError{Path: s.path, Cause: err}
		}
		if err != nil {
			bp, bpath, bdata, tried, rerr := s.findBackup(target)
			if rerr != nil {
				return nil, fx, rerr
			}
			if bp == nil {
				return nil, fx, &CorruptError{Path: s.path, Cause: err, Tried: tried}
			}
			moved, merr := s.moveAside(target)
			if merr != nil {
				// Never replace what cannot be kept.
				return nil, fx, fmt.Errorf("keeping the damaged file: %w", merr)
			}
			fx.recovered = &RecoveredError{Path: s.path, Cause: err, Backup: bpath, MovedTo: moved}
			fx.data, fx.write = bdata, true
			if s.opt.OnRecover == nil {
				return nil, fx, nil
			}
			p = bp
			target = bpath // the pre-migration copy, if any, comes from the backup
		}
		if s.needsMigration(p) {
			from := p.version
			mdata, err := s.c.migrate(p, s.opt.Migrate)
			if err != nil {
				return nil, fx, err
			}
			mp, err := s.c.parse(mdata)
			if err != nil {
				return nil, fx, &MigrationError{From: from, To: s.c.version, Err: err}
			}
			if s.be == nil { // a database keeps its own history
				if err := s.keepPreMigration(target, from); err != nil {
					return nil, fx, err
				}
			}
			p, fx.write = mp, true
		}
	}
	st.val, st.unknown = p.val, p.unknown
	if s.c.schemaKey != "" {
		st.version = max(p.version, s.c.version)
	}
	root, _, err := s.c.enc.Sync(nil, st.val)
	if err != nil {
		return nil, fx, &invalidError{err}
	}
	st.root = root
	return st, fx, nil
}

func readFile(fsys vfs.FS, name string) ([]byte, error) {
	return durable.ReadFile(name, durable.WithFS(fsys))
}
