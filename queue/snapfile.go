package queue

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/group"
	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/vfs"
)

// The state snapshot is a cache of what the journal says, never the
// truth: Open loads it, matches it with the journal (the record it ends
// with must be there, with the same checksum) and replays only the
// records after it. When it is missing, older than the retained records
// (a crash between a compaction's drop and its snapshot), damaged or from
// another history, the state is rebuilt from the journal; damage and a
// foreign history are reported to Options.OnRecover, and a damaged file is
// kept as SnapshotName+".corrupt".

// snapEvery is how many records may accumulate after the last snapshot
// before a writer takes a new one: enough that writing it costs little
// per record, few enough that Open replays a small tail.
func (q *Queue) snapEvery() uint64 {
	return max(uint64(q.o.CompactRecords), uint64(q.st.live)/32)
}

func (q *Queue) snapPath() string { return filepath.Join(q.dir, SnapshotName) }

// reload replaces the state with the snapshot's, or an empty one to be
// rebuilt from the journal. Caller holds q.mu.
func (q *Queue) reload() {
	q.st, q.snapSeen = newState(), 0
	b, err := readSnapshot(q.o.FS, q.snapPath())
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		q.recovered(fmt.Errorf("queue %s: reading the state snapshot (rebuilt from the journal instead): %w", q.dir, err))
		return
	}
	id, s, err := decodeSnapshot(b)
	if err == nil && id != q.j.LogID() && s.seen > 0 {
		err = fmt.Errorf("%w: the snapshot belongs to another journal", durable.ErrCorrupt)
	}
	if err != nil {
		q.damaged(err)
		return
	}
	s.lastCp = s.seen
	q.st, q.snapSeen = s, s.seen
}

// readSnapshot reads the snapshot file, which must be a regular file with
// no other name (sidecar.OpenSingle), in one read of its size.
func readSnapshot(fsys vfs.FS, path string) ([]byte, error) {
	f, fi, err := sidecar.OpenSingle(fsys, path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > 1<<40 {
		return nil, fmt.Errorf("%w: %s: a snapshot of %d bytes", durable.ErrCorrupt, path, fi.Size())
	}
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}

// peerSnapshot learns, from the snapshot file's header, of a snapshot or
// compaction another process (or another handle) did since this handle's
// last one: each of them has the same state to keep, and before, each
// wrote its own snapshot and ran its own compaction (which rewrites every
// live message) on its own count of records, so n processes did n times
// the work. The header is not checked (its checksum covers the whole
// file): what it says only decides when this handle next snapshots or
// compacts, never what any state holds, and it is believed only up to the
// records this handle has seen (a peer may have seen more), so a damaged
// or planted file can put that off by at most one interval from now
// (snapEvery, CompactRecords), never forever.
// Open still reads and checks the whole file before trusting any of it.
// It reports whether it learnt anything.
func (q *Queue) peerSnapshot() bool {
	var b [8 + 1 + 16 + 8 + 8]byte // magic, version, log ID, seen, base
	f, _, err := sidecar.OpenSingle(q.o.FS, q.snapPath(), os.O_RDONLY)
	if err != nil {
		return false
	}
	_, err = io.ReadFull(f, b[:])
	f.Close()
	id := q.j.LogID()
	if err != nil || [8]byte(b[:8]) != snapMagic || b[8] != SnapshotVersion || [16]byte(b[9:25]) != id {
		return false
	}
	seen := binary.LittleEndian.Uint64(b[25:])
	base := binary.LittleEndian.Uint64(b[33:])
	q.mu.Lock()
	defer q.mu.Unlock()
	if base > seen {
		return false
	}
	// The peer may have seen more records than this handle yet.
	seen, base = min(seen, q.st.seen), min(base, q.st.seen)
	if seen <= q.snapSeen && base <= q.st.base {
		return false
	}
	// A snapshot of the first seen records exists: the next one is due
	// snapEvery records after it. One written after a compaction that
	// dropped records says where the records the journal keeps begin
	// (base), which the next compaction counts from. (That a compaction
	// ran at all, this handle learns from its move events: applyEvent.)
	q.snapSeen = max(q.snapSeen, seen)
	q.st.base = max(q.st.base, base)
	q.peers = true
	return true
}

// stale drops a snapshot state that the journal does not confirm: it ends
// with record i (0 when the journal holds no record at or after the one
// the snapshot ends with), whose checksum is sum. Caller holds q.mu.
func (q *Queue) stale(found bool, i uint64) {
	want := q.st.seen - 1
	if found && i > want {
		// Older than what the journal retains: a compaction dropped
		// records after it and crashed before its own snapshot.
	} else if !found {
		q.recovered(fmt.Errorf("queue %s: %w: the state snapshot covers %d records, but the journal has fewer (rebuilt from the journal%s)", q.snapPath(), durable.ErrCorrupt, q.st.seen, q.keep()))
	} else {
		q.recovered(fmt.Errorf("queue %s: %w: the state snapshot does not match journal record %d: another history (rebuilt from the journal%s)", q.snapPath(), durable.ErrCorrupt, want, q.keep()))
	}
	q.st, q.snapSeen, q.snapNow = newState(), 0, true
}

// damaged reports a snapshot that does not decode, and keeps it as
// evidence beside the queue. Caller holds q.mu.
func (q *Queue) damaged(err error) {
	q.recovered(fmt.Errorf("queue %s: damaged state snapshot, rebuilt from the journal%s: %w", q.snapPath(), q.keep(), err))
	q.snapNow = true
}

// keep moves a snapshot that is not trusted out of the way, as evidence
// (a writer then writes a good one), and says so. Caller holds q.mu.
func (q *Queue) keep() string {
	if q.o.ReadOnly {
		return ""
	}
	path := q.snapPath()
	if err := vfs.RenameFile(q.o.FS, path, path+".corrupt"); err != nil {
		return ""
	}
	return "; kept as " + SnapshotName + ".corrupt"
}

// recovered queues a report for Options.OnRecover, made once no lock is
// held. Caller holds q.mu.
func (q *Queue) recovered(err error) {
	if q.o.OnRecover != nil {
		q.reports = append(q.reports, err)
	}
}

// report makes the reports queued. Caller holds no lock.
func (q *Queue) report() {
	if q.o.OnRecover == nil {
		return
	}
	q.mu.Lock()
	rs := q.reports
	q.reports = nil
	q.mu.Unlock()
	for _, r := range rs {
		q.o.OnRecover(r)
	}
}

// maybeSnapshot writes a snapshot when enough records accumulated since
// the last one this process loaded or wrote. Its errors are not the
// caller's: the journal has everything, and the next try writes it.
func (q *Queue) maybeSnapshot(ctx context.Context) {
	if q.o.ReadOnly || q.snapping.Load() {
		return // a snapshot is being written: no need to look at the file
	}
	if q.snapDue() && (!q.peerSnapshot() || q.snapDue()) {
		q.writeSnapshot(ctx)
	}
}

// snapDue reports whether this handle should write a snapshot.
func (q *Queue) snapDue() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	every := q.snapEvery()
	if q.peers {
		// Processes that share the directory count the same records:
		// without a skew of their own they would all find a snapshot
		// due at once, before any of them could see another's.
		every += q.skew
	}
	return q.snapNow || q.st.seen >= q.snapSeen+every
}

// writeSnapshot writes the state as the journal's durable records make
// it. It takes the state under the journal's lock, when every record is
// flushed (a flush covers every byte written before it, by any process;
// taking the lock flushes what others wrote), so the snapshot never
// covers a record a power cut could take back; the file is replaced
// atomically and durably once the lock is released.
func (q *Queue) writeSnapshot(ctx context.Context) error {
	if !q.snapping.CompareAndSwap(false, true) {
		return nil
	}
	defer q.snapping.Store(false)
	var data []byte
	var seen uint64
	err := q.j.WithLock(group.OwnCode(ctx), func(tx *journal.Tx) error {
		if tx.Unflushed() {
			return nil // this process's pops are not flushed yet: next time
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		if err := q.catchUp(tx.Size(), tx.Scan); err != nil {
			return err
		}
		if q.st.seen != tx.Size() {
			return nil
		}
		data, seen = q.st.encodeSnapshot(q.j.LogID()), q.st.seen
		return nil
	})
	q.report()
	if err != nil || data == nil {
		return err
	}
	attr, err := sidecar.Of(q.o.FS, q.dir)
	if err != nil {
		return err
	}
	perm := attr.Perm
	if perm == 0 {
		perm = 0o600
	}
	if err := durable.WriteFile(q.snapPath(), data, perm, durable.WithFS(q.o.FS), durable.SidecarOf(q.dir)); err != nil {
		return err
	}
	q.mu.Lock()
	q.snapSeen, q.snapNow = max(q.snapSeen, seen), false
	q.mu.Unlock()
	return nil
}
