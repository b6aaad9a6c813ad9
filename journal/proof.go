package journal

import (
	"context"
	"errors"
	"fmt"
)

// RootAt returns the Merkle root of the first size records.
func (j *Journal) RootAt(ctx context.Context, size uint64) (Hash, error) {
	if err := j.enter("root"); err != nil {
		return Hash{}, err
	}
	defer j.wg.Done()
	h, err := j.rootAt(ctx, size)
	return h, wrapErr("root", j.dir, err)
}

func (j *Journal) rootAt(ctx context.Context, size uint64) (Hash, error) {
	if size == 0 {
		return emptyRoot, nil
	}
	h, err := j.hashSpans(ctx, []span{{0, size}}, size)
	if err != nil {
		return Hash{}, err
	}
	return h[0], nil
}

// InclusionProof returns the proof that record index is in the tree of
// the first size records (RFC 6962's audit path); check it with
// VerifyInclusion and the record's LeafHash.
func (j *Journal) InclusionProof(ctx context.Context, index, size uint64) ([]Hash, error) {
	if err := j.enter("proof"); err != nil {
		return nil, err
	}
	defer j.wg.Done()
	if index >= size {
		return nil, &Error{Op: "proof", Path: j.dir, Offset: -1, Err: fmt.Errorf("index %d is not in a tree of size %d", index, size)}
	}
	p, err := j.hashSpans(ctx, inclusionSpans(index, 0, size), size)
	return p, wrapErr("proof", j.dir, err)
}

// ConsistencyProof returns the proof that the tree of the first oldSize
// records is a prefix of the tree of the first newSize (RFC 6962); check it
// with VerifyConsistency.
func (j *Journal) ConsistencyProof(ctx context.Context, oldSize, newSize uint64) ([]Hash, error) {
	if err := j.enter("proof"); err != nil {
		return nil, err
	}
	defer j.wg.Done()
	if oldSize > newSize {
		return nil, &Error{Op: "proof", Path: j.dir, Offset: -1, Err: fmt.Errorf("old size %d is larger than new size %d", oldSize, newSize)}
	}
	if oldSize == 0 || oldSize == newSize {
		if _, err := j.hashSpans(ctx, nil, newSize); err != nil {
			return nil, wrapErr("proof", j.dir, err)
		}
		return nil, nil
	}
	p, err := j.hashSpans(ctx, consistencySpans(oldSize, 0, newSize, true), newSize)
	return p, wrapErr("proof", j.dir, err)
}

// Record returns the record at index.
func (j *Journal) Record(ctx context.Context, index uint64) (Record, error) {
	for r, err := range j.Scan(index) {
		if err != nil {
			return Record{}, err
		}
		if r.Index == index {
			return r, nil
		}
		break
	}
	return Record{}, &Error{Op: "read", Path: j.dir, Offset: -1, Err: fmt.Errorf("no record %d", index)}
}

// hashSpans computes the hashes of spans of the tree of the first size
// records from the files. It starts at the newest segment whose header
// state it can use, and fails when a span needs records that were dropped.
func (j *Journal) hashSpans(ctx context.Context, spans []span, size uint64) ([]Hash, error) {
	bases, err := listSegments(j.fs, j.dir)
	if err != nil {
		return nil, err
	}
	hs := newSpanHasher(spans)
	start := -1
	var startSeg *segment
	for k := len(bases) - 1; k >= 0; k-- {
		if bases[k] > size {
			continue
		}
		seg, err := openSegment(j.fs, j.dir, bases[k], false)
		if err != nil {
			return nil, err
		}
		t, err := newCompact(seg.base, seg.hdr.state)
		if err != nil {
			seg.close()
			return nil, corruptAt(seg.path, 0, "%v", err)
		}
		probe := newSpanHasher(spans)
		for _, n := range t.nodes() {
			probe.add(n.lo, n.height, n.hash)
		}
		if probe.err == nil {
			start, startSeg = k, seg
			for _, n := range t.nodes() {
				hs.add(n.lo, n.height, n.hash)
			}
			break
		}
		seg.close()
	}
	if start < 0 {
		return nil, errors.New("the records the proof needs were dropped")
	}
	have := startSeg.base
	seg := startSeg
	for have < size {
		if err := ctx.Err(); err != nil {
			seg.close()
			return nil, err
		}
		s, err := newScanner(seg, false, false)
		if err != nil {
			seg.close()
			return nil, err
		}
		s.hashes = true
		sealed := false
		for have < size && !sealed {
			k, d, err := s.step()
			if err != nil {
				seg.close()
				return nil, err
			}
			switch k {
			case stepBatch:
				for _, l := range s.leaves {
					if have < size {
						hs.add(have, 0, l)
						have++
					}
				}
				continue
			case stepSeal:
				sealed = true
				continue
			case stepDamage:
				if _, bad, _ := s.classifyTail(d); bad != nil {
					seg.close()
					return nil, bad
				}
			}
			seg.close()
			return nil, fmt.Errorf("the log has %d records, fewer than %d", have, size)
		}
		seg.close()
		if have >= size {
			break
		}
		if seg, err = openSegment(j.fs, j.dir, have, false); err != nil {
			return nil, err
		}
	}
	return hs.hashes()
}
