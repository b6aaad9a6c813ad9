package journal

import (
	"context"
	"errors"
	"io/fs"
	"iter"
	"time"
)

// Scan returns an iterator over the records from index from on, as the
// files hold them when it reaches them. It yields only records whose batch
// is closed by an intact commit frame, so never a torn or unacknowledged
// record, and checks every checksum on the way (Verify also checks the
// Merkle tree). Records before the oldest retained segment (see
// DropBefore) are skipped. Damage stops the iteration with an error
// wrapping ErrCorrupt. Memory stays bounded by the largest batch.
func (j *Journal) Scan(from uint64) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		r := &reader{j: j}
		r.run(context.Background(), from, false, yield)
	}
}

// Follow is Scan that does not stop at the end of the log: it waits for
// the records that this and other processes append, and yields each once
// its batch is committed. It ends when ctx is done or the journal is
// closed.
func (j *Journal) Follow(ctx context.Context, from uint64) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		r := &reader{j: j}
		r.run(ctx, from, true, yield)
	}
}

type reader struct {
	j   *Journal
	seg *segment
	// own: the writer's open segment (Tx.Scan), read through rather than
	// opened again when the scan starts in it, and never closed here.
	own *segment
}

// closeSeg closes the segment being read, unless it is the writer's.
func (r *reader) closeSeg() {
	if r.seg != r.own {
		r.seg.close()
	}
	r.seg = nil
}

// wait waits for a commit in this process, a poll interval, or the end.
func (r *reader) wait(ctx context.Context, wake <-chan struct{}, delay time.Duration) bool {
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-r.j.done:
		return false
	case <-wake:
		return true
	case <-t.C:
		return true
	}
}

func (r *reader) run(ctx context.Context, from uint64, follow bool, yield func(Record, error) bool) {
	defer func() { r.closeSeg() }()
	fail := func(op string, err error) {
		yield(Record{}, wrapErr(op, r.j.dir, err))
	}
	// Start where this journal last saw a batch end, if it can (hint.go);
	// a first step there that finds damage sends it down the plain path.
	var s *scanner
	trial := false
	if p, ok := r.j.placeFor(from); ok {
		s = r.scanFromPlace(p)
		trial = s != nil
	}
plain:
	// Find the segment holding from.
	for r.seg == nil {
		wake := r.j.waitChan()
		bases, err := listSegments(r.j.fs, r.j.dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			fail("read", err)
			return
		}
		if len(bases) == 0 {
			if !follow || !r.wait(ctx, wake, pollInterval) {
				return
			}
			continue
		}
		k := 0
		for i, b := range bases {
			if b <= from {
				k = i
			}
		}
		// Segments before a gap in the chain are leftovers of a drop.
		start, err := chainStart(r.j.fs, r.j.dir, bases, k)
		if errors.Is(err, fs.ErrNotExist) {
			continue // dropped meanwhile
		}
		if err != nil {
			fail("read", err)
			return
		}
		k = start
		seg, err := openSegment(r.j.fs, r.j.dir, bases[k], false)
		if errors.Is(err, fs.ErrNotExist) {
			continue // dropped meanwhile
		}
		if err != nil {
			fail("read", err)
			return
		}
		r.seg = seg
	}
	if s == nil {
		var err error
		if s, err = newScanner(r.seg, false, true); err != nil {
			fail("read", err)
			return
		}
	}
	delay := time.Millisecond
	settle, settledIdle := 0, false // see stepDamage
	for {
		if err := ctx.Err(); err != nil {
			return
		}
		wake := r.j.waitChan()
		k, d, err := s.step()
		if err != nil {
			fail("read", err)
			return
		}
		if trial {
			trial = false
			if k == stepDamage {
				r.closeSeg()
				s = nil
				goto plain
			}
		}
		switch k {
		case stepBatch:
			delay = time.Millisecond
			settle, settledIdle = 0, false
			for _, rec := range s.recs {
				if rec.Index >= from && !yield(rec, nil) {
					return
				}
			}
			continue
		case stepSeal:
			next, err := openSegment(r.j.fs, r.j.dir, s.next, false)
			if errors.Is(err, fs.ErrNotExist) {
				bases, lerr := listSegments(r.j.fs, r.j.dir)
				if lerr == nil && len(bases) > 0 && bases[len(bases)-1] > s.next {
					fail("read", corruptAt(r.seg.path, s.off, "the segment that should follow, %s, is missing", segName(s.next)))
					return
				}
				// Not created yet.
				s.off -= sealSize
				s.sealed = false
				if !follow || !r.wait(ctx, wake, delay) {
					return
				}
				s.fr.invalidate()
				continue
			}
			if err != nil {
				fail("read", err)
				return
			}
			if next.hdr.logID != r.seg.hdr.logID {
				next.close()
				fail("read", tamperedAt(next.path, 0, "segment belongs to another log"))
				return
			}
			r.closeSeg()
			r.seg = next
			if s, err = newScanner(next, false, true); err != nil {
				fail("read", err)
				return
			}
			continue
		case stepDamage:
			// A writer grows the segment before it writes past the end
			// this reader last saw (it holds no lock), so a batch that
			// runs past that end may be whole in the longer file: look
			// again at the new size before calling it damage.
			if grown, err := r.regrow(s); err != nil {
				fail("read", err)
				return
			} else if grown {
				continue
			}
			_, bad, err := s.classifyTail(d)
			if err != nil {
				fail("read", err)
				return
			}
			if bad != nil {
				// A reader holds no lock, and a platform may show a batch
				// being written in pieces that look damaged (Wine does).
				// Damage is reported once it is still there after a moment
				// in which no writer held the lock: a writer finishes its
				// batch before it releases it.
				if settle < maxSettle && !r.j.idle() {
					settle++
					if !r.wait(ctx, wake, pollInterval) {
						return
					}
					if _, err := r.regrow(s); err != nil {
						fail("read", err)
						return
					}
					continue
				}
				if settle < maxSettle && !settledIdle {
					settledIdle = true // idle now: read once more, then believe it
					if _, err := r.regrow(s); err != nil {
						fail("read", err)
						return
					}
					continue
				}
				fail("read", bad)
				return
			}
			if bases, err := listSegments(r.j.fs, r.j.dir); err == nil && len(bases) > 0 && bases[len(bases)-1] > r.seg.base {
				// Only the last segment has a tail; here it is damage.
				fail("read", d)
				return
			}
			// A torn tail, or a batch still being written: not a record yet.
		}
		if !follow || !r.wait(ctx, wake, delay) {
			return
		}
		delay = min(2*delay, pollInterval)
		if _, err := r.regrow(s); err != nil {
			fail("read", err)
			return
		}
	}
}

// maxSettle bounds how many polls a reader waits for a writer to finish a
// batch that looks damaged (stepDamage in run): a writer that holds the
// lock longer than that (stopped, or this very process inside WithLock)
// does not keep the damage from being reported.
const maxSettle = 50

// idle reports whether no writer holds the journal's lock at this moment.
func (j *Journal) idle() bool {
	h, err := j.locker.m.TryLock()
	if err != nil {
		return false
	}
	h.Unlock()
	return true
}

// regrow asks the segment's size again and, when it grew, has s read the
// new bytes from the file rather than from what it read before.
func (r *reader) regrow(s *scanner) (bool, error) {
	old := r.seg.size
	if err := r.seg.refresh(); err != nil {
		return false, err
	}
	s.fr.size = r.seg.size
	s.fr.invalidate()
	return r.seg.size > old, nil
}
