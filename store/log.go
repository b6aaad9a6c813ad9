package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/goid"
	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/internal/jsonenc"
	"github.com/durable-go/durable/internal/mutate"
	"github.com/durable-go/durable/journal"
)

// Log mode (Options.Log): the file stays the readable snapshot, and each
// write appends a merge patch of its change to the patch log beside it, a
// journal (package journal) in LogName(file). The record format and the
// rules that tie the log to the snapshot are in store/LOGFORMAT.md; in
// short:
//
//   - every patch builds on the snapshot named by the fold record before
//     it (a content hash), and the log starts each generation with one;
//   - compaction, under the file's lock and then the log's, appends a fold
//     record naming the new snapshot, replaces the file, and drops the old
//     segments: a crash anywhere leaves either the old snapshot with every
//     patch after it, or the new one with none pending;
//   - a snapshot that matches no fold record while patches are pending was
//     changed without the lock: that is a *LogConflictError, never a
//     merge.
//
// Writers take only the log's lock: an update costs one Lstat of the
// snapshot, reading the records other processes appended since (applied
// member by member; nothing to read when the journal's size says nobody
// appended), the merge patch of its own change, taken from the encoding
// tree at a cost that follows the change (jsonenc: Shape, MergePatch, the
// map table copy), and one append and flush. While other processes append
// too, the flush comes after the log's lock is let go
// (journal.WithLockShared), so that processes that update at the same time
// share it rather than take turns with it; a writer alone flushes under
// the lock, where nobody waits behind it.

type logMode struct {
	dir       string
	j         *journal.Journal
	compactAt int64

	mu    sync.Mutex    // guards what follows, and the Store's state (st) in log mode
	owner atomic.Uint64 // the goid.Token of the goroutine holding mu for a write (see Get)

	next     uint64      // journal index after the last record applied
	gen      string      // content hash of the snapshot the pending patches build on
	needFold bool        // the log names no fold for gen yet: write one first
	pending  int64       // bytes of the records since the last fold
	npend    int         // and how many
	last     uint64      // index of the last patch applied
	snapHash string      // the snapshot's content hash as last read or written
	snapRev  durable.Rev // and its durable.Rev
	snapStat fs.FileInfo // and its stat then (nil: unknown)
	closed   bool
	tx       *journal.Tx // the log's, while runLog holds its lock
	// folds: the snapshots named by the folds applied since the file was
	// last checked (the last maxFolds), which it may hold (logCheckSnapshot).
	folds []string
}

// maxFolds bounds logMode.folds: only one compaction at a time has
// appended its fold and not yet replaced the file.
const maxFolds = 8

// logSegmentSize keeps segments small: a reader catching up reads the
// segment that holds its position from the start.
const logSegmentSize = 64 << 10

func (s *Store[T]) openLog() error {
	target, err := s.target()
	if err != nil {
		return err
	}
	lm := &logMode{dir: LogName(target), compactAt: s.opt.LogCompactSize}
	if lm.compactAt == 0 {
		lm.compactAt = defaultCompact
	}
	j, err := journal.Open(lm.dir, &journal.Options{FS: s.fs, SegmentSize: logSegmentSize, Origin: logOrigin, NoFollow: true})
	if err != nil {
		return fmt.Errorf("store: opening the patch log of %s: %w", s.path, err)
	}
	lm.j = j
	// Every update takes a merge patch: from the tree, where the type
	// allows one, at every size (a whole document's patch compares both
	// encodings in full).
	s.c.enc.PreferTree()
	s.log = lm
	return nil
}

// getLog is Get in log mode: the document as the snapshot and every
// committed patch make it, read from the state this Store keeps, caught up
// with the records appended since.
func (s *Store[T]) getLog() (T, durable.Rev, error) {
	var zero T
	lm := s.log
	if o := lm.owner.Load(); o != 0 && goid.Is(goid.Token(o)) {
		return zero, durable.Rev{}, &fs.PathError{Op: "get", Path: s.path, Err: durable.ErrReentrant}
	}
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if lm.closed {
		return zero, durable.Rev{}, &fs.PathError{Op: "get", Path: s.path, Err: durable.ErrClosed}
	}
	if err := s.logReady(0); err != nil {
		return zero, durable.Rev{}, err
	}
	// The caller gets its own copy: the state stays the Store's.
	v := jsonenc.DeepCopy(s.st.val).Interface().(T)
	return v, s.logRev(), nil
}

// logReady brings the state up to date with the snapshot and the log's
// records below limit (all committed ones when limit is 0). mu is held.
func (s *Store[T]) logReady(limit uint64) error {
	if s.st == nil {
		return s.logLoad(limit)
	}
	if err := s.logCatchUp(limit); err != nil {
		s.st = nil
		if err == errCatchUpGap {
			return s.logLoad(limit) // read it all again
		}
		return err
	}
	err := s.logCheckSnapshot(limit)
	if err != nil {
		s.st = nil
	}
	return err
}

// logLoad reads the snapshot and the whole log anew.
func (s *Store[T]) logLoad(limit uint64) error {
	lm := s.log
	s.st = nil
	target, err := s.target()
	if err != nil {
		return err
	}
	fi, _ := s.fs.Stat(target)
	data, err := readFile(s.fs, target)
	if errors.Is(err, fs.ErrNotExist) {
		data, fi, err = nil, nil, nil
	}
	if err != nil {
		return &fs.PathError{Op: "read", Path: s.path, Err: err}
	}
	h := snapshotHash(data)
	st, err := s.logState(data)
	if err != nil {
		return err
	}
	// The records after the last fold that names this snapshot; or, when
	// none does, after the last fold.
	var recs []logRecord
	matched, next := false, uint64(0)
	var lastFold string
	for rec, err := range lm.j.Scan(0) {
		if err != nil {
			return &LogError{Path: lm.dir, Cause: err}
		}
		if limit > 0 && rec.Index >= limit {
			break
		}
		next = rec.Index + 1
		if rec.Type != journal.TypeData {
			continue
		}
		r, err := decodeRecord(rec.Index, rec.Payload)
		if err != nil {
			return &LogError{Path: lm.dir, Cause: err}
		}
		switch {
		case r.Op == opFold && r.Rev == h:
			recs, matched = recs[:0], true
		case r.Op == opFold && !matched:
			recs, lastFold = recs[:0], r.Rev
		default:
			recs = append(recs, r)
		}
	}
	lm.next, lm.gen, lm.needFold, lm.pending, lm.npend, lm.last = next, h, false, 0, 0, 0
	lm.folds = lm.folds[:0]
	lm.snapHash, lm.snapRev, lm.snapStat = h, durable.RevOf(data), fi
	if !matched {
		if len(recs) > 0 {
			want := lastFold
			if lastFold == "" {
				want = recs[0].Base
			}
			return &LogConflictError{Path: s.path, Log: lm.dir, Pending: len(recs), Snapshot: h, Want: want}
		}
		// Nothing pending: the snapshot is the document (it may have
		// been replaced by hand). The next write names it first.
		lm.needFold = true
		s.st = st
		return nil
	}
	// One Sync of the tree after the last patch, as in logCatchUp.
	stale := false
	for _, r := range recs {
		applied, err := s.logApplyValue(st, r)
		if err != nil {
			return err
		}
		stale = stale || applied
	}
	if stale {
		if err := s.logSync(st, recs[len(recs)-1]); err != nil {
			return err
		}
	}
	s.st = st
	return nil
}

// logState decodes a snapshot. Log mode neither recovers a damaged one
// from a backup nor migrates an older schema (both would write the file
// under the log's feet): it reports them.
func (s *Store[T]) logState(data []byte) (*state, error) {
	st := &state{}
	var p *parsed
	if data == nil {
		st.missing = true
		ptr := new(T)
		*ptr = s.defaultValue()
		p = &parsed{val: reflect.ValueOf(ptr).Elem(), version: s.c.version}
	} else {
		var err error
		if p, err = s.c.parse(data); err != nil {
			return nil, &CorruptError{Path: s.path, Cause: err}
		}
		if s.needsMigration(p) {
			return nil, fmt.Errorf("store: %s has schema %d and this program writes %d: log mode does not migrate; open it once without Options.Log (after durable store compact)", s.path, p.version, s.c.version)
		}
	}
	st.val, st.unknown = p.val, p.unknown
	if s.c.schemaKey != "" {
		st.version = max(p.version, s.c.version)
	}
	root, _, err := s.c.enc.Sync(nil, st.val)
	if err != nil {
		return nil, &invalidError{err}
	}
	st.root = root
	return st, nil
}

// errCatchUpGap: the records after the state's position did not start
// there; the state is read anew.
var errCatchUpGap = errors.New("store: the patch log's records since the last read do not follow on")

// logCatchUp applies the records appended since the state was last
// brought up to date.
func (s *Store[T]) logCatchUp(limit uint64) error {
	lm := s.log
	if limit > 0 && lm.next >= limit {
		return nil // nobody else appended: the common case of one writer
	}
	// Under the log's lock (runLog), through the file the journal
	// writes: a writer catches up at every turn, and opens nothing for it.
	scan := lm.j.Scan
	if lm.tx != nil {
		scan = lm.tx.Scan
	}
	// The encoding tree is brought up to date once, after the last
	// patch: each Sync walks the document's tables, and a writer among
	// several finds a patch of each of the others at every turn.
	var last logRecord // the last record applied, if the tree is behind
	stale := false
	for rec, err := range scan(lm.next) {
		if err != nil {
			return &LogError{Path: lm.dir, Cause: err}
		}
		if limit > 0 && rec.Index >= limit {
			break
		}
		if rec.Index != lm.next {
			// Records are numbered without gaps: one missing from the
			// catch-up (dropped meanwhile by a compaction, or a reader
			// that started past it) must never be skipped silently.
			return errCatchUpGap
		}
		lm.next = rec.Index + 1
		if rec.Type != journal.TypeData {
			continue
		}
		r, err := decodeRecord(rec.Index, rec.Payload)
		if err != nil {
			return &LogError{Path: lm.dir, Cause: err}
		}
		applied, err := s.logApplyValue(s.st, r)
		if err != nil {
			return err
		}
		if applied {
			last, stale = r, true
		}
	}
	if stale {
		return s.logSync(s.st, last)
	}
	return nil
}

// logApplyValue applies one record to the state's value, and reports
// whether that left the state's encoding tree behind until logSync.
func (s *Store[T]) logApplyValue(st *state, r logRecord) (bool, error) {
	lm := s.log
	if r.Op == opFold {
		// Everything before it is in the snapshot it names: the state,
		// which holds everything before it, is that snapshot.
		if len(lm.folds) == maxFolds {
			lm.folds = append(lm.folds[:0], lm.folds[1:]...)
		}
		lm.folds = append(lm.folds, r.Rev)
		lm.gen, lm.needFold, lm.pending, lm.npend = r.Rev, false, 0, 0
		return false, nil
	}
	if r.Base != lm.gen {
		return false, &LogError{Path: lm.dir, Cause: fmt.Errorf("record %d builds on %s, but the log's snapshot there is %s", r.index, shortHash(r.Base), shortHash(lm.gen))}
	}
	behind := true
	switch r.Op {
	case opPatch:
		// A patch of members of a map, as one-member changes make, brings
		// the tree along member by member; anything else is applied to
		// the value, and the tree follows at logSync.
		root, _, handled, err := s.c.enc.PatchMembers(st.root, st.val, r.body)
		if handled {
			st.root, behind = root, false
		} else {
			err = s.c.enc.ApplyMergePatch(st.val, r.body)
		}
		if err != nil {
			return false, &LogError{Path: lm.dir, Cause: fmt.Errorf("record %d: %w", r.index, err)}
		}
	case opWhole:
		p, err := s.c.parse(r.body)
		if err != nil {
			return false, &LogError{Path: lm.dir, Cause: fmt.Errorf("record %d: %w", r.index, err)}
		}
		st.val.Set(p.val)
		st.unknown = p.unknown
	}
	st.missing = false
	lm.pending += int64(r.size)
	lm.npend++
	lm.last = r.index
	return behind, nil
}

// logSync brings the state's encoding tree up to date with its value,
// after the records up to r were applied to it.
func (s *Store[T]) logSync(st *state, r logRecord) error {
	root, _, err := s.c.enc.Sync(st.root, st.val)
	if err != nil {
		return &LogError{Path: s.log.dir, Cause: fmt.Errorf("record %d: %w", r.index, err)}
	}
	st.root = root
	return nil
}

// logCheckSnapshot notices a snapshot replaced since it was read: by a
// compaction (it then names the current generation), or by someone who
// did not take the lock.
func (s *Store[T]) logCheckSnapshot(limit uint64) error {
	lm := s.log
	target, fi, serr, err := s.logStat()
	if err != nil {
		return err
	}
	if serr == nil && lm.snapStat != nil && sameFile(fi, lm.snapStat) && fi.Size() == lm.snapStat.Size() && fi.ModTime().Equal(lm.snapStat.ModTime()) {
		return nil
	}
	if serr != nil && errors.Is(serr, fs.ErrNotExist) && lm.snapStat == nil && lm.snapHash == "" {
		return nil
	}
	data, err := readFile(s.fs, target)
	if errors.Is(err, fs.ErrNotExist) {
		data, fi, err = nil, nil, nil
	}
	if err != nil {
		return &fs.PathError{Op: "read", Path: s.path, Err: err}
	}
	h := snapshotHash(data)
	// A snapshot that a fold names is a compaction's: the one this
	// state builds on, or an earlier one whose compaction replaced the
	// file while a later one, whose fold this catch-up passed too, has
	// not replaced it yet (compactions append their fold, then replace
	// the file, one after the other).
	known := func() bool { return h == lm.snapHash || h == lm.gen || slices.Contains(lm.folds, h) }
	if !known() && limit == 0 {
		// Without the log's lock, a compaction may have appended its
		// fold after this reader caught up, and replaced the file since:
		// its fold is committed now.
		if err := s.logCatchUp(0); err != nil {
			return err
		}
	}
	if known() {
		lm.snapHash, lm.snapRev, lm.snapStat = h, durable.RevOf(data), fi
		lm.folds = lm.folds[:0]
		return nil
	}
	if lm.npend == 0 && lm.snapHash == lm.gen {
		return s.logLoad(limit) // replaced while nothing was pending: take it
	}
	return &LogConflictError{Path: s.path, Log: lm.dir, Pending: lm.npend, Snapshot: h, Want: lm.gen}
}

// logStat is s.target() and a Stat of it, in one system call where the
// name is no symbolic link (every update makes it): the Lstat that
// resolves the name then says what a Stat would. serr is the Stat's error,
// err the resolution's.
func (s *Store[T]) logStat() (target string, fi fs.FileInfo, serr, err error) {
	p := filepath.Clean(s.path)
	fi, serr = s.fs.Lstat(p)
	if serr == nil && fi.Mode()&fs.ModeSymlink == 0 || errors.Is(serr, fs.ErrNotExist) {
		return p, fi, serr, nil
	}
	if target, err = s.target(); err != nil {
		return "", nil, nil, err
	}
	fi, serr = s.fs.Stat(target)
	return target, fi, serr, nil
}

// logRev is the revision of the document the state holds: the snapshot's
// durable.Rev when no patch is pending over it, and otherwise one derived
// from the log (its id, the snapshot the patches build on and the last
// patch's index), which names that version as well without encoding the
// whole document.
func (s *Store[T]) logRev() durable.Rev {
	lm := s.log
	if lm.npend == 0 && lm.gen == lm.snapHash {
		return lm.snapRev
	}
	id := lm.j.LogID()
	// fmt.Appendf(nil, "durable store log\n%x\n%s\n%d\n", id, lm.gen, lm.last), by hand: every update asks.
	var buf [192]byte // on the stack: RevOf keeps nothing of it
	b := buf[:0]
	b = hex.AppendEncode(append(b, "durable store log\n"...), id[:])
	b = strconv.AppendUint(append(append(append(b, '\n'), lm.gen...), '\n'), lm.last, 10)
	return durable.RevOf(append(b, '\n'))
}

// runLog is run in log mode: apply the batch's functions to the state and
// append one patch of their change. The callbacks run in b.UserPinned,
// whose token names the goroutine for Get's re-entry test (logMode.owner).
func (s *Store[T]) runLog(b *group.Batch[job], batch []*request[T]) {
	ctx, cancel := b.Context()
	defer cancel()
	lm := s.log
	var rev durable.Rev
	var applied []*request[T]
	err := lm.j.WithLockShared(group.OwnCode(ctx), func(tx *journal.Tx) error {
		lm.mu.Lock()
		lm.tx = tx
		defer func() {
			lm.tx = nil
			lm.mu.Unlock()
		}()
		if lm.closed {
			return durable.ErrClosed
		}
		if err := s.logReady(tx.Size()); err != nil {
			return err
		}
		st := s.st
		shape := s.c.enc.Shape(st.root)
		dirty := false
		var broken error
		// The goroutine is pinned to its thread (the cheap token of Get's
		// and Update's re-entry tests) only while the callbacks run: a
		// goroutine locked to its thread that blocks (for the log's lock,
		// the shared flush's, a yield) costs two more thread switches at
		// every wait, which with several processes taking turns were a
		// large part of an update's CPU.
		b.UserPinned(func(self goid.Token) {
			lm.owner.Store(uint64(self))
			defer lm.owner.Store(0)
			for _, r := range batch {
				if !r.claim() || r.load {
					continue
				}
				r.decided = true
				if r.replace != nil {
					if cur := s.logRev(); cur != r.ifRev {
						r.err = &fs.PathError{Op: "replace", Path: s.path, Err: fmt.Errorf("%w: the document is at %v, not %v", ErrConflict, cur, r.ifRev)}
						continue
					}
				}
				handled, err := s.applyMember(st, r) // member.go
				if !handled {
					err = s.apply(st, r)
				}
				if err != nil {
					if errors.Is(err, errBroken) {
						broken = err
						return
					}
					r.err = err
					continue
				}
				applied = append(applied, r)
				dirty = dirty || r.changed
			}
		})
		if broken != nil {
			s.st = nil
			return broken
		}
		if !dirty {
			rev = s.logRev()
			return nil
		}
		var payloads [][]byte
		if lm.needFold {
			payloads = append(payloads, encodeRecord(logHeader{Op: opFold, Rev: lm.gen}, nil))
		}
		patch, changed, exact := s.c.enc.MergePatch(nil, shape, st.root)
		if !changed {
			rev = s.logRev()
			return nil
		}
		var rec []byte
		if exact {
			rec = encodeRecord(logHeader{Op: opPatch, Base: lm.gen}, patch)
		} else {
			// No merge patch says it (a member set to null): the whole
			// document, as the snapshot would hold it.
			doc, err := s.c.document(nil, st)
			if err != nil {
				s.st = nil
				return err
			}
			rec = encodeRecord(logHeader{Op: opWhole, Base: lm.gen}, doc)
		}
		payloads = append(payloads, rec)
		appendRecs := tx.AppendFlushed
		if mutate.StoreLogAckBeforeSync {
			appendRecs = tx.AppendUnflushed
		}
		first, err := appendRecs(payloads)
		if err != nil {
			s.st = nil // holds a change that is not in the log
			return err
		}
		if lm.needFold {
			lm.needFold, lm.pending, lm.npend = false, 0, 0
		}
		lm.next = first + uint64(len(payloads))
		lm.last = lm.next - 1
		lm.pending += int64(len(rec))
		lm.npend++
		st.missing = false
		rev = s.logRev()
		return nil
	})
	if err != nil {
		err = logWrap(s.path, err)
		for _, r := range batch {
			if r.claim() && r.err == nil {
				r.err = err
			}
		}
		return
	}
	for _, r := range batch {
		if r.err == nil && r.claim() {
			r.rev = rev
		}
	}
	lm.mu.Lock()
	due := lm.compactAt > 0 && lm.pending >= lm.compactAt && !lm.closed
	lm.mu.Unlock()
	if due {
		// The updates are durable already; a compaction that fails is
		// tried again after the next one.
		s.compactLog(ctx) //nolint:errcheck
	}
}

// logWrap gives an error the document's path unless it names one already.
func logWrap(path string, err error) error {
	var pe *fs.PathError
	var lc *LogConflictError
	var le *LogError
	var ce *CorruptError
	if errors.As(err, &pe) || errors.As(err, &lc) || errors.As(err, &le) || errors.As(err, &ce) {
		return err
	}
	return &fs.PathError{Op: "update", Path: path, Err: err}
}
