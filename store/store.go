package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"runtime"
	"sync"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/follow"
	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/internal/jsonenc"
	"github.com/durable-go/durable/vfs"
)

// Rev identifies one version of a document: the content hash of the file.
// The zero Rev stands for "the file does not exist". It is a
// durable.Version, so it also works with durable.IfVersion.
type Rev = durable.Version

// Options configure a Store. The zero value (or nil) is a plain JSON file,
// pretty-printed, with one backup.
type Options[T any] struct {
	// FS is the filesystem (vfs.OS by default); tests pass a vfs.MemFS.
	FS vfs.FS
	// Perm is the mode of a new file: 0o644 by default, 0o600 with Secret.
	// An existing file keeps its mode.
	Perm fs.FileMode
	// Secret is the preset for credentials: new files are 0o600 in 0o700
	// directories, a wider Perm is refused, and Open and Get warn (an
	// *InsecureError, errors.Is(err, ErrInsecure)) when an existing file
	// can be read by group or others. The mode is never widened.
	Secret bool

	// Indent is the indentation ("  " by default). Compact writes one line.
	Indent  string
	Compact bool

	// Backups is how many previous versions to keep, as name.bak.1 (the
	// newest) to name.bak.N. 0 means the default, 1; a negative value
	// keeps none (and then a corrupt file cannot be recovered).
	Backups int

	// Default gives the value of a document whose file does not exist
	// (the zero T without it). It is not written until an Update.
	Default func() T
	// Validate checks the document after each update function, before
	// anything is written; an error refuses that update (wrapped with
	// ErrInvalid) and undoes it. It must not change the document. After
	// it, every value whose encoding changed is decoded back into its Go
	// type, and one that does not decode (a custom marshaler whose output
	// its own unmarshaler refuses) is refused the same way: what is
	// written always reads back.
	Validate func(T) error
	// OnRecover, if set, is told when a corrupt file was replaced by the
	// newest good backup, instead of Get and Open returning a warning and
	// Update refusing to apply its change on top of the recovered version.
	OnRecover func(*RecoveredError)

	// Version is the schema version this program writes, stored in the
	// file under SchemaKey ("schema" by default); 0 turns schemas off.
	// A file with an older version is migrated on first access, inside a
	// transaction: Migrate[v] turns version v into v+1 (a missing step
	// leaves the document as it is), the file as it was is kept as
	// name.pre-v<old>, and the migrated document is written. A file from a
	// newer version is read as it is and keeps its version number. T must
	// be a struct without a field for SchemaKey.
	Version   int
	SchemaKey string
	Migrate   map[int]func(doc map[string]json.RawMessage) error

	// PollInterval is how often Watch looks at the file (1s by default).
	PollInterval time.Duration

	// Backend keeps the document somewhere other than a file (see
	// Backend); the path given to Open is then only a name for errors,
	// and FS, Perm, Secret and Backups do not apply.
	Backend Backend
}

// Store is a typed JSON document in a file, shared safely by goroutines and
// processes. Methods are safe for concurrent use.
type Store[T any] struct {
	path    string
	fs      vfs.FS
	opt     Options[T]
	perm    fs.FileMode
	backups int
	poll    time.Duration
	c       *format
	dopts   []durable.Option
	upd     *durable.Updater // the file's lock and last version, kept between writes
	be      Backend          // where the document is kept instead of a file (backend.go)

	key queueKey // the file's batch queue (batch.go)

	st    *state // the document as last loaded or written; only batches touch it
	spare []byte // a buffer for the next document: what st.file held before

	mu        sync.Mutex
	seen      fs.FileInfo // the file as of the last Get (nil: it did not exist)
	seenValid bool
}

// Open opens the document at path, reading and checking it at once: a file
// that does not parse is recovered from its newest good backup (see
// RecoveredError), an older schema is migrated. A missing file is not an
// error. The error may be a warning (IsWarning) that comes with a usable
// Store.
func Open[T any](path string, opts *Options[T]) (*Store[T], error) {
	s, err := newStore(path, opts)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.Get(); err != nil {
		if IsWarning(err) {
			return s, err
		}
		return nil, err
	}
	return s, nil
}

func newStore[T any](path string, opts *Options[T]) (*Store[T], error) {
	s := &Store[T]{path: path}
	if opts != nil {
		s.opt = *opts
	}
	o := &s.opt
	s.fs = o.FS
	if s.fs == nil {
		s.fs = vfs.OS{}
	}
	s.perm = o.Perm
	if s.perm == 0 {
		s.perm = 0o644
		if o.Secret {
			s.perm = 0o600
		}
	}
	if o.Secret && s.perm&0o077 != 0 {
		return nil, fmt.Errorf("store: %s: refusing mode %#o for a secret file (group or others could read it)", path, s.perm)
	}
	s.backups = o.Backups
	if s.backups == 0 {
		s.backups = 1
	}
	s.poll = o.PollInterval
	if s.poll <= 0 {
		s.poll = time.Second
	}
	indent := o.Indent
	if indent == "" {
		indent = "  "
	}
	if o.Compact {
		indent = ""
	}
	schemaKey := ""
	t := reflect.TypeFor[T]()
	switch {
	case o.Version < 0:
		return nil, fmt.Errorf("store: %s: negative schema version %d", path, o.Version)
	case o.Version == 0 && len(o.Migrate) > 0:
		return nil, fmt.Errorf("store: %s: migrations need Options.Version", path)
	case o.Version > 0:
		schemaKey = o.SchemaKey
		if schemaKey == "" {
			schemaKey = "schema"
		}
		if t.Kind() != reflect.Struct || jsonenc.Custom(t) {
			return nil, fmt.Errorf("store: %s: a schema version needs T to be a plain struct, not %v", path, t)
		}
	}
	s.c = newFormat(t, indent, schemaKey, o.Version)
	if schemaKey != "" {
		s.c.schemaKey = "" // knows must not skip it
		known := s.c.knows(schemaKey)
		s.c.schemaKey = schemaKey
		if known {
			return nil, fmt.Errorf("store: %s: %v has a field for the schema key %q; the store keeps the version itself (rename the field or set SchemaKey)", path, t, schemaKey)
		}
	}
	if o.Backend != nil {
		s.be, s.backups, s.path = o.Backend, -1, o.Backend.Name()
		s.key = queueKey{path: "\x00backend\x00" + s.path}
		return s, nil
	}
	s.dopts = []durable.Option{durable.WithFS(s.fs), durable.NewFileMode(s.perm)}
	s.upd = durable.NewUpdater(path, s.dopts...)
	// A Store has no Close: its Updater's lock file is closed once the
	// Store is unreachable (never during an update, which holds s).
	runtime.AddCleanup(s, func(u *durable.Updater) { u.Close() }, s.upd)
	s.key = keyFor(s.fs, path)
	return s, nil
}

// Path returns the document's path, as given to Open.
func (s *Store[T]) Path() string { return s.path }

// Get reads the document. It takes no lock: every write replaces the file
// atomically, so it reads one complete version. A missing file gives
// Options.Default (or the zero T) and the zero Rev.
//
// A file that does not parse is recovered from the newest good backup, the
// damaged file kept as name.corrupt.<time>, and reported through a
// *RecoveredError returned with the recovered value (or OnRecover). A file
// with an older schema is migrated. With no good backup, Get returns a
// *CorruptError and leaves the file alone. The error may be a warning: see
// IsWarning.
func (s *Store[T]) Get() (T, Rev, error) {
	if s.be != nil {
		return s.getBackend(context.Background())
	}
	var zero T
	var fixErr, warn error
	for attempt := 0; ; attempt++ {
		target, err := s.target()
		if err != nil {
			return zero, Rev{}, err
		}
		fi, statErr := s.fs.Stat(target)
		data, err := readFile(s.fs, target)
		if errors.Is(err, fs.ErrNotExist) {
			s.noteSeen(nil)
			return s.defaultValue(), Rev{}, warn
		}
		if err != nil {
			return zero, Rev{}, &fs.PathError{Op: "read", Path: s.path, Err: err}
		}
		rev := durable.VersionOf(data)
		p, perr := s.c.parse(data)
		if perr == nil && !s.needsMigration(p) {
			if statErr == nil {
				s.noteSeen(fi)
				if ie := s.insecure(fi); ie != nil {
					warn = errors.Join(warn, ie)
				}
			}
			return p.val.Interface().(T), rev, warn
		}
		if attempt == 0 {
			// Corrupt, or an older schema: fix it under the lock, then
			// read again.
			r := &request[T]{s: s, ctx: context.Background(), load: true}
			s.do(r)
			if r.warn != nil {
				warn = r.warn
			}
			if r.err == nil {
				continue
			}
			var ce *CorruptError
			if errors.As(r.err, &ce) {
				return zero, Rev{}, r.err
			}
			fixErr = r.err
		} else if fixErr == nil {
			fixErr = errors.New("the file changed again while it was being repaired")
		}
		// It could not be fixed on disk (no permission, a read-only
		// filesystem, the lock): answer from memory.
		return s.fromMemory(target, data, p, perr, fixErr)
	}
}

// fromMemory answers Get when the file could not be repaired on disk.
func (s *Store[T]) fromMemory(target string, data []byte, p *parsed, perr, fixErr error) (T, Rev, error) {
	var zero T
	var warn error
	if perr != nil {
		bp, bpath, _, tried, err := s.findBackup(target)
		if err != nil {
			return zero, Rev{}, err
		}
		if bp == nil {
			return zero, Rev{}, &CorruptError{Path: s.path, Cause: perr, Tried: tried}
		}
		p = bp
		rec := &RecoveredError{Path: s.path, Cause: perr, Backup: bpath, MoveErr: fixErr}
		if s.opt.OnRecover != nil {
			s.opt.OnRecover(rec)
		} else {
			warn = rec
		}
	}
	if s.needsMigration(p) {
		mdata, err := s.c.migrate(p, s.opt.Migrate)
		if err != nil {
			return zero, Rev{}, err
		}
		mp, err := s.c.parse(mdata)
		if err != nil {
			return zero, Rev{}, &MigrationError{From: p.version, To: s.c.version, Err: err}
		}
		p = mp
	}
	return p.val.Interface().(T), durable.VersionOf(data), warn
}

func (s *Store[T]) needsMigration(p *parsed) bool {
	return s.c.schemaKey != "" && p.version < s.c.version
}

func (s *Store[T]) defaultValue() T {
	if s.opt.Default != nil {
		return s.opt.Default()
	}
	var zero T
	return zero
}

func (s *Store[T]) insecure(fi fs.FileInfo) error {
	if !s.opt.Secret || runtime.GOOS == "windows" || fi == nil {
		return nil
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return &InsecureError{Path: s.path, Mode: fi.Mode()}
	}
	return nil
}

// Update runs fn on the latest version of the document and publishes the
// result: it takes the cross-process lock, loads the file if another
// process changed it, calls fn, validates, writes durably (rotating the
// backups) and unlocks. It returns the new Rev once that version is on
// disk.
//
// fn returning ErrNoChange (or durable.ErrNoChange) leaves the document as
// it is; any other error aborts this update and is returned, and whatever
// fn changed before failing is undone. Concurrent Updates in one process
// are coalesced into one write: each fn runs exactly once, in order, and
// sees the result of the ones before it. ctx bounds the wait for the lock.
func (s *Store[T]) Update(ctx context.Context, fn func(*T) error) (Rev, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return Rev{}, err
	}
	r := &request[T]{s: s, ctx: ctx, fn: fn}
	s.do(r)
	return r.rev, r.err
}

// Replace publishes v if the document is still at revision ifRev (from Get
// or an earlier write), and fails with ErrConflict otherwise. The zero Rev
// means "only if the file does not exist". It is for callers that read
// long before they write, such as an editor; Update never conflicts.
// v is copied through its JSON form, so the store shares nothing with the
// caller (and fields encoding/json ignores are not kept).
func (s *Store[T]) Replace(ctx context.Context, v T, ifRev Rev) (Rev, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return Rev{}, err
	}
	// Keep a private copy, so the caller's maps and slices are not shared.
	b, err := json.Marshal(&v)
	if err != nil {
		return Rev{}, &invalidError{err}
	}
	cp := new(T)
	if err := json.Unmarshal(b, cp); err != nil {
		return Rev{}, &invalidError{fmt.Errorf("the encoding does not decode back: %w", err)}
	}
	r := &request[T]{s: s, ctx: ctx, replace: cp, ifRev: ifRev}
	s.do(r)
	return r.rev, r.err
}

// target is the file the path names, following symbolic links, so that
// backups and damaged copies are kept beside the real file.
func (s *Store[T]) target() (string, error) {
	// Another user's link in a shared directory is refused: see
	// internal/follow.
	p, err := follow.Resolve(s.fs, s.path, false)
	if err != nil {
		return "", &fs.PathError{Op: "open", Path: s.path, Err: err}
	}
	return p, nil
}

// Transactions (see batch.go for the batching).

type request[T any] struct {
	s       *Store[T]
	ctx     context.Context
	fn      func(*T) error
	replace *T
	ifRev   Rev
	load    bool // Get's repair: recover or migrate, nothing else

	b *group.Batch[job] // the batch that holds it, and where
	i int

	changed  bool
	decided  bool // its function ran (or its Replace was checked)
	unseen   bool // it was decided on changes not yet written (the write's fate is its own)
	panicked any
	err      error
	warn     error
	rev      Rev
}

func (r *request[T]) owner() any { return r.s }

// claim commits the batch to r (group.Batch.Claim): false when its caller
// has left, with its context's error, and r must be left alone.
func (r *request[T]) claim() bool { return r.b == nil || r.b.Claim(r.i) }

func (s *Store[T]) do(r *request[T]) {
	err := batchers.Do(r.ctx, s.key, r, sameOwner, func(b *group.Batch[job]) error {
		reqs := requests[T](b)
		b.User(func() {
			s.run(reqs, func() []*request[T] {
				if st := b.Steal(func(items []job) bool { return items[0].owner() == s }); st != nil {
					return requests[T](st)
				}
				return nil
			})
		})
		return nil
	})
	if err != nil && r.err == nil {
		r.err = err
	}
	if r.panicked != nil {
		panic(r.panicked)
	}
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
	rev       Rev
	recovered *RecoveredError
}

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
	// the Updater need not.
	err := s.update(group.OwnCode(ctx), func(old []byte) ([]byte, error) {
		tx = txn{old: old}
		return s.transact(&tx, batch, old, more)
	})
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
				r.rev = durable.VersionOf(tx.old)
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
		s.opt.OnRecover(tx.recovered)
	}
	rev := tx.rev
	if !tx.wrote {
		if s.st != nil && s.st.holds(tx.old) {
			rev = s.st.rev()
		} else {
			rev = durable.VersionOf(tx.old)
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
			tx.wrote, tx.data, tx.rev = true, fx.data, durable.VersionOf(fx.data)
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
				cur = st.versions.Version(data)
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
		if err := s.rotate(s.upd.Target()); err != nil {
			s.st = nil
			return nil, err
		}
	}
	tx.wrote, tx.data, tx.rev = true, data, st.versions.Version(data)
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

// Changed reports whether the file may have changed since this Store last
// read it with Get (or Open): it compares the file's identity, size and
// modification time, without reading it. It also reports true after this
// Store's own writes, until the next Get.
func (s *Store[T]) Changed() bool {
	if s.be != nil {
		return true // only a read can tell
	}
	target, err := s.target()
	if err != nil {
		return true
	}
	fi, err := s.fs.Stat(target)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.seenValid {
		return true
	}
	if err != nil {
		return !(errors.Is(err, fs.ErrNotExist) && s.seen == nil)
	}
	if s.seen == nil {
		return true
	}
	return !sameFile(s.seen, fi) || s.seen.Size() != fi.Size() || !s.seen.ModTime().Equal(fi.ModTime())
}

func (s *Store[T]) noteSeen(fi fs.FileInfo) {
	s.mu.Lock()
	s.seen, s.seenValid = fi, true
	s.mu.Unlock()
}

func sameFile(a, b fs.FileInfo) bool {
	if ma, ok := a.Sys().(*vfs.MemStat); ok {
		mb, ok := b.Sys().(*vfs.MemStat)
		return ok && ma.Ino == mb.Ino
	}
	return os.SameFile(a, b)
}

// Watch polls the file every Options.PollInterval and sends the Rev of each
// new version it finds (this Store's own writes included). A reader that
// falls behind gets only the newest Rev. The channel is closed when ctx is
// done.
func (s *Store[T]) Watch(ctx context.Context) <-chan Rev {
	ch := make(chan Rev, 1)
	go func() {
		defer close(ch)
		t := time.NewTicker(s.poll)
		defer t.Stop()
		var changes <-chan struct{}
		if s.be != nil {
			changes = s.be.Changes(ctx)
		}
		var last Rev
		if _, rev, err := s.GetContext(ctx); err == nil || IsWarning(err) {
			last = rev
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case _, ok := <-changes:
				if !ok {
					changes = nil
				}
			}
			if !s.Changed() {
				continue
			}
			_, rev, err := s.GetContext(ctx)
			if (err != nil && !IsWarning(err)) || rev == last {
				continue
			}
			last = rev
			select {
			case ch <- rev:
			default:
				select {
				case <-ch:
				default:
				}
				ch <- rev
			}
		}
	}()
	return ch
}
