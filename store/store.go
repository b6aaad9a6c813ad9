package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"runtime"
	"sync"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/follow"
	"github.com/durable-go/durable/internal/jsonenc"
	"github.com/durable-go/durable/vfs"
)

// Rev is durable.Rev, the content hash of a document's file, which Get,
// Update and Replace use directly.
//
// Deprecated: use durable.Rev.
type Rev = durable.Rev

// Options configure a Store. The zero value (or nil) is a plain JSON file,
// pretty-printed, with one backup.
type Options[T any] struct {
	// FS is the filesystem (vfs.OS by default); tests pass a vfs.MemFS.
	FS vfs.FS
	// Perm is the mode of a new file, less the umask: 0o600 by default,
	// as for every file this module and the durable command create, since
	// state files often hold secrets (set 0o644 for a file others should
	// read). An existing file keeps its mode.
	Perm fs.FileMode
	// Secret is the preset for credentials: new files are 0o600 in 0o700
	// directories, a wider Perm is refused, and Open and Get report an
	// existing file that group or others can read (an *InsecureError, to
	// OnInsecure or Warnings). The mode is never widened, nor narrowed
	// behind the user's back.
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
	// newest good backup, by whichever call found it (Open, Get, Update,
	// Replace), in that call's goroutine or its batch leader's. Update
	// and Replace then apply their change on top of the recovered
	// version. Without it, Open and Get keep the *RecoveredError for
	// Warnings (a recovery is not a failure: they return the recovered
	// value and a nil error), and Update and Replace publish the
	// recovered version alone and fail with the *RecoveredError, so that
	// the caller decides whether its change still makes sense.
	OnRecover func(*RecoveredError)
	// OnInsecure, if set, is told when Open or Get finds that a Secret
	// file can be read by its group or others; without it the
	// *InsecureError is kept for Warnings.
	OnInsecure func(*InsecureError)

	// Schema is the schema number this program writes, stored in the
	// file under SchemaKey ("schema" by default); 0 turns schemas off.
	// A file with an older schema is migrated on first access, inside a
	// transaction: Migrate[n] turns schema n into n+1 (a missing step
	// leaves the document as it is), the file as it was is kept as
	// name.pre-v<old>, and the migrated document is written. A file from a
	// newer schema is read as it is and keeps its number. T must be a
	// struct without a field for SchemaKey.
	Schema    int
	SchemaKey string
	Migrate   map[int]func(doc map[string]json.RawMessage) error

	// Version is Schema's old name, honoured when Schema is 0.
	//
	// Deprecated: use Schema.
	Version int

	// PollInterval is how often Watch looks at the file (1s by default).
	PollInterval time.Duration

	// Backend keeps the document somewhere other than a file (see
	// Backend); the path given to Open is then only a name for errors,
	// and FS, Perm, Secret and Backups do not apply.
	Backend Backend

	// Log turns on log mode: the file stays the readable snapshot, and
	// each write appends a JSON merge patch (RFC 7386) of its change to
	// the patch log beside it (LogName), which compaction folds into the
	// snapshot (by LogCompactSize, on Close, on Compact, and by durable
	// store compact). A write then costs what its change costs, not what
	// the document does. See the package doc, "Log mode".
	Log bool
	// LogCompactSize is how many bytes of patches the log holds before a
	// write folds them into the snapshot (4 MiB by default; negative:
	// only Close, Compact and durable store compact fold).
	LogCompactSize int64
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
	// rotated waits for the backup rotation running while the new
	// version is written (startRotate) and returns its error; nil if none.
	rotated func() error
	order   dirOrder // whether the directory orders its changes (rotate)
	// interleave, set by tests only, is given the rotation's steps
	// instead of startRotate running them, and returns what waits for
	// the rest: the crash tests run them between the write's calls.
	interleave func(steps []func() error) (wait func() error)

	mu        sync.Mutex
	seen      fs.FileInfo // the file as of the last Get (nil: it did not exist)
	seenValid bool

	warns warnings // what Open and Get found that no callback took (warnings.go)

	log *logMode // the patch log, in log mode (log.go)
}

// Open opens the document at path, reading and checking it at once: a file
// that does not parse is recovered from its newest good backup (see
// RecoveredError), an older schema is migrated. A missing file is not an
// error. A non-nil error means Open failed and the Store is nil; what it
// found that is not a failure (a recovery, a secret file others can read)
// goes to Options.OnRecover and OnInsecure, or waits in Warnings.
func Open[T any](path string, opts *Options[T]) (*Store[T], error) {
	s, err := newStore(path, opts)
	if err != nil {
		return nil, err
	}
	if s.log == nil && s.be == nil {
		// Patches pending in a log beside the file (log mode): the file
		// alone is not the document (logcheck.go).
		if err := s.refuseLogged(); err != nil {
			return nil, err
		}
	}
	if _, _, err := s.Get(); err != nil {
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
		s.perm = 0o600
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
	schema := o.Schema
	if schema == 0 {
		schema = o.Version
	}
	switch {
	case schema < 0:
		return nil, fmt.Errorf("store: %s: negative schema number %d", path, schema)
	case o.Schema != 0 && o.Version != 0 && o.Schema != o.Version:
		return nil, fmt.Errorf("store: %s: Options.Schema %d and its deprecated name Options.Version %d disagree", path, o.Schema, o.Version)
	case schema == 0 && len(o.Migrate) > 0:
		return nil, fmt.Errorf("store: %s: migrations need Options.Schema", path)
	case schema > 0:
		schemaKey = o.SchemaKey
		if schemaKey == "" {
			schemaKey = "schema"
		}
		if t.Kind() != reflect.Struct || jsonenc.Custom(t) {
			return nil, fmt.Errorf("store: %s: a schema number needs T to be a plain struct, not %v", path, t)
		}
	}
	s.c = newFormat(t, indent, schemaKey, schema)
	if schemaKey != "" {
		s.c.schemaKey = "" // knows must not skip it
		known := s.c.knows(schemaKey)
		s.c.schemaKey = schemaKey
		if known {
			return nil, fmt.Errorf("store: %s: %v has a field for the schema key %q; the store keeps the version itself (rename the field or set SchemaKey)", path, t, schemaKey)
		}
	}
	if o.Backend != nil {
		if o.Log {
			return nil, fmt.Errorf("store: %s: log mode keeps a patch log beside a file; a Backend keeps its own history", path)
		}
		s.be, s.backups, s.path = o.Backend, -1, o.Backend.Name()
		s.key = queueKey{path: "\x00backend\x00" + s.path}
		return s, nil
	}
	s.dopts = []durable.Option{durable.WithFS(s.fs), durable.NewFileMode(s.perm)}
	s.upd = durable.NewUpdater(path, s.dopts...)
	// In the default mode nothing needs Close: the Updater's lock file is
	// closed once the Store is unreachable (never during an update, which
	// holds s). In log mode Close closes it (logcompact.go).
	runtime.AddCleanup(s, func(u *durable.Updater) { u.Close() }, s.upd)
	s.key = keyFor(s.fs, path)
	if o.Log {
		if err := s.openLog(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Path returns the document's path, as given to Open.
func (s *Store[T]) Path() string { return s.path }

// Get reads the document. It takes no lock: every write replaces the file
// atomically, so it reads one complete version. A missing file gives
// Options.Default (or the zero T) and the zero durable.Rev, which stands for
// "the file does not exist".
//
// A file that does not parse is recovered from the newest good backup, the
// damaged file kept as name.corrupt.<time>: Get returns the recovered value
// with a nil error and reports the *RecoveredError to Options.OnRecover
// (or Warnings). A file with an older schema is migrated. With no good
// backup, Get returns a *CorruptError and leaves the file alone. A non-nil
// error always means Get failed: the value is then the zero T.
func (s *Store[T]) Get() (T, durable.Rev, error) {
	if s.be != nil {
		return s.getBackend(context.Background())
	}
	if s.log != nil {
		return s.getLog()
	}
	var zero T
	var fixErr error
	for attempt := 0; ; attempt++ {
		target, err := s.target()
		if err != nil {
			return zero, durable.Rev{}, err
		}
		fi, statErr := s.fs.Stat(target)
		data, err := readFile(s.fs, target)
		if errors.Is(err, fs.ErrNotExist) {
			s.noteSeen(nil)
			return s.defaultValue(), durable.Rev{}, nil
		}
		if err != nil {
			return zero, durable.Rev{}, &fs.PathError{Op: "read", Path: s.path, Err: err}
		}
		rev := durable.RevOf(data)
		p, perr := s.c.parse(data)
		if perr == nil && !s.needsMigration(p) {
			if statErr == nil {
				s.noteSeen(fi)
				if ie := s.insecure(fi); ie != nil {
					s.insecureFile(ie)
				}
			}
			return p.val.Interface().(T), rev, nil
		}
		if attempt == 0 {
			// Corrupt, or an older schema: fix it under the lock, then
			// read again.
			r := &request[T]{s: s, ctx: context.Background(), load: true}
			s.do(r)
			if r.err == nil {
				// A recovery that was not written did not happen:
				// only one that was is reported.
				if rec, ok := r.warn.(*RecoveredError); ok {
					s.recovered(rec)
				}
				continue
			}
			var ce *CorruptError
			if errors.As(r.err, &ce) {
				return zero, durable.Rev{}, r.err
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
func (s *Store[T]) fromMemory(target string, data []byte, p *parsed, perr, fixErr error) (T, durable.Rev, error) {
	var zero T
	if perr != nil {
		bp, bpath, _, tried, err := s.findBackup(target)
		if err != nil {
			return zero, durable.Rev{}, err
		}
		if bp == nil {
			return zero, durable.Rev{}, &CorruptError{Path: s.path, Cause: perr, Tried: tried}
		}
		p = bp
		s.recovered(&RecoveredError{Path: s.path, Cause: perr, Backup: bpath, MoveErr: fixErr})
	}
	if s.needsMigration(p) {
		mdata, err := s.c.migrate(p, s.opt.Migrate)
		if err != nil {
			return zero, durable.Rev{}, err
		}
		mp, err := s.c.parse(mdata)
		if err != nil {
			return zero, durable.Rev{}, &MigrationError{From: p.version, To: s.c.version, Err: err}
		}
		p = mp
	}
	return p.val.Interface().(T), durable.RevOf(data), nil
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

func (s *Store[T]) insecure(fi fs.FileInfo) *InsecureError {
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
// backups) and unlocks. It returns the new revision once that version is on
// disk.
//
// fn returning ErrNoChange (or durable.ErrNoChange) leaves the document as
// it is; any other error aborts this update and is returned, and whatever
// fn changed before failing is undone. Concurrent Updates in one process
// are coalesced into one write: each fn runs exactly once, in order, and
// sees the result of the ones before it. ctx bounds the wait for the lock.
func (s *Store[T]) Update(ctx context.Context, fn func(*T) error) (durable.Rev, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return durable.Rev{}, err
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
func (s *Store[T]) Replace(ctx context.Context, v T, ifRev durable.Rev) (durable.Rev, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return durable.Rev{}, err
	}
	// Keep a private copy, so the caller's maps and slices are not shared.
	b, err := json.Marshal(&v)
	if err != nil {
		return durable.Rev{}, &invalidError{err}
	}
	cp := new(T)
	if err := json.Unmarshal(b, cp); err != nil {
		return durable.Rev{}, &invalidError{fmt.Errorf("the encoding does not decode back: %w", err)}
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
