package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/journal"
)

// Compaction: folding the patch log into the snapshot, and setting aside
// patches that no longer apply.

// Compact folds the pending patches of a Store in log mode into the
// snapshot: under the file's lock and then the log's, it appends a fold
// record naming the new snapshot, replaces the file durably (rotating the
// backups, as every write of the default mode does) and drops the log's
// older segments. A Store in the default mode has nothing to compact. A
// crash at any point leaves a document equal to the one before: the old
// snapshot with every patch, or the new one. A snapshot changed without the
// lock while patches were pending is a *LogConflictError, and nothing is
// changed (see DiscardLog).
func (s *Store[T]) Compact(ctx context.Context) error {
	if s.log == nil {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return s.compactLog(ctx)
}

func (s *Store[T]) compactLog(ctx context.Context) error {
	lm := s.log
	var (
		fold  uint64
		data  []byte
		wrote bool
	)
	err := s.upd.Update(ctx, func(old []byte) ([]byte, error) {
		err := lm.j.WithLock(ctx, func(tx *journal.Tx) error {
			lm.mu.Lock()
			defer lm.mu.Unlock()
			if lm.closed {
				return durable.ErrClosed
			}
			if err := s.logReady(tx.Size()); err != nil {
				return err
			}
			if h := snapshotHash(old); h != lm.snapHash {
				// Replaced since it was read: read it again under the
				// lock (a conflict, or a snapshot to adopt).
				if err := s.logLoad(tx.Size()); err != nil {
					return err
				}
				if h != lm.snapHash {
					return fmt.Errorf("the snapshot changed while it was being compacted")
				}
			}
			if lm.npend == 0 && lm.gen == lm.snapHash {
				return durable.ErrNoChange // nothing to fold
			}
			doc, err := s.c.document(nil, s.st)
			if err != nil {
				s.st = nil
				return err
			}
			h := snapshotHash(doc)
			idx, err := tx.AppendFlushed([][]byte{encodeRecord(logHeader{Op: opFold, Rev: h}, nil)})
			if err != nil {
				return err
			}
			// From here on the log says the snapshot is h; until the file
			// is replaced, readers find the old one and apply every patch
			// before and after the fold (see logLoad).
			lm.next, lm.gen, lm.needFold, lm.pending, lm.npend = idx+1, h, false, 0, 0
			fold, data = idx, doc
			return nil
		})
		if err != nil {
			return nil, err
		}
		if old != nil && s.backups > 0 {
			if err := s.rotate(s.upd.Target()); err != nil {
				return nil, err
			}
		}
		wrote = true
		return data, nil
	})
	if err != nil || !wrote {
		if errors.Is(err, durable.ErrNoChange) {
			err = nil
		}
		if err != nil {
			return logWrap(s.path, err)
		}
		return nil
	}
	lm.mu.Lock()
	if target, terr := s.target(); terr == nil {
		fi, _ := s.fs.Stat(target)
		lm.snapHash, lm.snapRev, lm.snapStat = snapshotHash(data), durable.RevOf(data), fi
	}
	lm.mu.Unlock()
	// The records before the fold are in the snapshot: let the journal
	// drop the segments that hold only them (it keeps the last one).
	if _, err := lm.j.DropBefore(ctx, fold); err != nil {
		return fmt.Errorf("store: %s: compacted, but dropping the old log segments: %w", s.path, err)
	}
	return nil
}

// DiscardLog sets aside the patches of a Store in log mode that do not
// apply to the snapshot as it is: the way out of a *LogConflictError when
// the snapshot's edit is what should stay. Under the file's lock and then
// the log's, it writes those patches, one JSON object a line, to the
// evidence file "name.patchlog.discarded.<time>" beside the document
// (ParseDiscardedLogName recognises it), then appends a fold record naming
// the snapshot, after which the log holds nothing pending. It returns the
// evidence file's path, or "" when nothing was pending. Patches that do
// apply are set aside too: compact first to keep them.
func (s *Store[T]) DiscardLog(ctx context.Context) (string, error) {
	if s.log == nil {
		return "", nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	lm := s.log
	var kept string
	err := s.upd.Update(ctx, func(old []byte) ([]byte, error) {
		target := s.upd.Target()
		h := snapshotHash(old)
		err := lm.j.WithLock(ctx, func(tx *journal.Tx) error {
			lm.mu.Lock()
			defer lm.mu.Unlock()
			if lm.closed {
				return durable.ErrClosed
			}
			var recs []logRecord
			for rec, err := range lm.j.Scan(0) {
				if err != nil {
					return &LogError{Path: lm.dir, Cause: err}
				}
				if rec.Index >= tx.Size() {
					break
				}
				if rec.Type != journal.TypeData {
					continue
				}
				r, err := decodeRecord(rec.Index, rec.Payload)
				if err != nil {
					return &LogError{Path: lm.dir, Cause: err}
				}
				if r.Op == opFold {
					recs = recs[:0]
					continue
				}
				recs = append(recs, r)
			}
			if len(recs) == 0 {
				return nil
			}
			var buf bytes.Buffer
			for _, r := range recs {
				var body bytes.Buffer
				if err := json.Compact(&body, r.body); err != nil {
					return err
				}
				line, _ := json.Marshal(struct {
					Index uint64          `json:"index"`
					Op    string          `json:"op"`
					Base  string          `json:"base"`
					Body  json.RawMessage `json:"body"`
				}{r.index, r.Op, r.Base, body.Bytes()})
				buf.Write(line)
				buf.WriteByte('\n')
			}
			name, err := s.evidenceName(target)
			if err != nil {
				return err
			}
			if err := durable.WriteFile(name, buf.Bytes(), s.perm, durable.WithFS(s.fs), durable.SidecarOf(target), durable.NoClobber()); err != nil {
				return err
			}
			kept = name
			idx, err := tx.AppendFlushed([][]byte{encodeRecord(logHeader{Op: opFold, Rev: h}, nil)})
			if err != nil {
				return err
			}
			lm.next = idx + 1
			s.st = nil // read again, from the snapshot
			return nil
		})
		if err != nil {
			return nil, err
		}
		return nil, durable.ErrNoChange
	})
	if err != nil {
		return kept, logWrap(s.path, err)
	}
	return kept, nil
}

// evidenceName is a free name for DiscardLog's evidence.
func (s *Store[T]) evidenceName(target string) (string, error) {
	now := time.Now()
	for k := 1; k < 100; k++ {
		name := discardedName(target, now, k)
		if _, err := s.fs.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			return name, nil
		}
	}
	return "", fmt.Errorf("no free name for the discarded patches beside %s", target)
}

// Close releases what a Store holds open. In log mode it first compacts
// (see Compact), then closes the log and the lock file; an error of the compaction is
// returned, and the patches stay in the log for the next Open. Calls after
// Close fail with durable.ErrClosed in log mode; a Store in the default
// mode holds nothing open and keeps working.
func (s *Store[T]) Close() error {
	lm := s.log
	if lm == nil {
		return nil
	}
	lm.mu.Lock()
	closed := lm.closed
	lm.mu.Unlock()
	if closed {
		return nil
	}
	err := s.compactLog(context.Background())
	lm.mu.Lock()
	lm.closed = true
	s.st = nil
	lm.mu.Unlock()
	// The lock file too, which the default mode leaves to the garbage
	// collector: a closed Store in log mode holds nothing open.
	return errors.Join(err, lm.j.Close(), s.upd.Close())
}

// DiscardLogAt is Store.DiscardLog for the document at path on the
// operating system's filesystem, which need not open: the way out when
// Open fails with a *LogConflictError (durable store compact --discard).
func DiscardLogAt(ctx context.Context, path string) (string, error) {
	s, err := newStore[json.RawMessage](path, &Options[json.RawMessage]{Log: true})
	if err != nil {
		return "", err
	}
	defer s.log.j.Close()
	return s.DiscardLog(ctx)
}
