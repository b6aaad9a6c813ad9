package journal

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Authenticated drop points. A retention record says which records it
// drops ("drop-before B") and, on "anchor" lines, proves that the tree of
// B records extends every tree signed before the drop that the log no
// longer holds:
//
//	anchor <size> <root, base64> <proof: base64 hashes joined by ",", or "-">
//
// The anchors are in increasing size; each proof is the RFC 6962
// consistency proof from its tree to the next anchor's, the last one's to
// the tree of B records, whose root the first kept segment's header gives.
// The proofs check themselves: nobody can make them pass for a tree of B
// records that does not extend the anchor's, key or no key.

type anchor struct {
	size  uint64
	root  Hash
	proof []Hash
}

// retention is a parsed retention record.
type retention struct {
	index   uint64 // the record's index
	first   uint64 // B: the first index kept
	anchors []anchor
}

func parseRetention(index uint64, payload []byte) (retention, error) {
	r := retention{index: index}
	lines := strings.Split(string(payload), "\n")
	f, ok := strings.CutPrefix(lines[0], "drop-before ")
	if !ok {
		return r, errors.New("not a drop-before record")
	}
	n, err := strconv.ParseUint(f, 10, 64)
	if err != nil {
		return r, fmt.Errorf("bad drop-before index %q", f)
	}
	r.first = n
	for _, l := range lines[1:] {
		rest, ok := strings.CutPrefix(l, "anchor ")
		if !ok {
			continue // prose
		}
		fs := strings.Fields(rest)
		if len(fs) != 3 {
			return r, fmt.Errorf("bad anchor line %q", l)
		}
		var a anchor
		if a.size, err = strconv.ParseUint(fs[0], 10, 64); err != nil {
			return r, fmt.Errorf("bad anchor size in %q", l)
		}
		if a.root, err = decodeHash(fs[1]); err != nil {
			return r, fmt.Errorf("bad anchor root in %q", l)
		}
		if fs[2] != "-" {
			for _, h := range strings.Split(fs[2], ",") {
				p, err := decodeHash(h)
				if err != nil {
					return r, fmt.Errorf("bad proof hash in %q", l)
				}
				a.proof = append(a.proof, p)
			}
		}
		if k := len(r.anchors); (k > 0 && r.anchors[k-1].size >= a.size) || a.size >= r.first {
			return r, fmt.Errorf("anchor sizes out of order in %q", l)
		}
		r.anchors = append(r.anchors, a)
	}
	return r, nil
}

func decodeHash(s string) (Hash, error) {
	var h Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, errors.New("bad hash")
	}
	copy(h[:], b)
	return h, nil
}

func (a anchor) line() string {
	p := "-"
	if len(a.proof) > 0 {
		var s []string
		for _, h := range a.proof {
			s = append(s, h.Base64())
		}
		p = strings.Join(s, ",")
	}
	return fmt.Sprintf("anchor %d %s %s", a.size, a.root.Base64(), p)
}

// proves checks r's chain of proofs against the root of the tree of
// r.first records and reports whether it proves the tree (size, root).
func (r retention) proves(rootFirst Hash, size uint64, root Hash) error {
	found := false
	for i, a := range r.anchors {
		nextSize, nextRoot := r.first, rootFirst
		if i+1 < len(r.anchors) {
			nextSize, nextRoot = r.anchors[i+1].size, r.anchors[i+1].root
		}
		if err := VerifyConsistency(a.size, nextSize, a.root, nextRoot, a.proof); err != nil {
			return fmt.Errorf("the retention record at index %d does not prove the kept records extend the tree of %d: %w", r.index, a.size, err)
		}
		if a.size == size {
			if a.root != root {
				return fmt.Errorf("the retention record at index %d vouches for another tree of %d records", r.index, size)
			}
			found = true
		}
	}
	if !found {
		return fmt.Errorf("records before index %d were dropped and no retention record proves that the log extends the tree of %d records", r.first, size)
	}
	return nil
}

// retentionFor returns the last retention record of the retained log
// that dropped records up to first, the log's first index.
func (j *Journal) retentionFor(ctx context.Context, first uint64) (*retention, error) {
	var found *retention
	for rec, err := range j.Scan(first) {
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if rec.Type != TypeRetention {
			continue
		}
		r, err := parseRetention(rec.Index, rec.Payload)
		if err != nil {
			return nil, corruptAt(j.dir, -1, "retention record %d: %v", rec.Index, err)
		}
		if r.first == first {
			found = &r
		}
	}
	return found, nil
}

// proveDropped proves that the log extends old, a signed tree whose
// records before first were dropped.
func (j *Journal) proveDropped(ctx context.Context, first uint64, old Signed) error {
	r, err := j.retentionFor(ctx, first)
	if err != nil {
		return err
	}
	if r == nil {
		return fmt.Errorf("records before index %d were dropped and no retention record proves that the log extends them", first)
	}
	rootFirst, err := j.rootAt(ctx, first)
	if err != nil {
		return err
	}
	return r.proves(rootFirst, old.Size, old.Root)
}

// dropAnchors returns the anchor lines of a retention record that drops
// the records before first, when the log starts at oldFirst: the anchors
// the previous drop carried (the trees signed before it), and every
// signed tree the log knows of (its memory and the stored checkpoint)
// below first, each with its proof to the next. A signed tree the log's
// records do not give is refused: dropping would hide the tampering.
func (j *Journal) dropAnchors(ctx context.Context, oldFirst, first uint64) ([]string, error) {
	var chain []anchor
	if oldFirst > 0 {
		if r, err := j.retentionFor(ctx, oldFirst); err != nil {
			return nil, err
		} else if r != nil && len(r.anchors) > 0 {
			chain = append(chain, r.anchors...)
			root, err := j.rootAt(ctx, oldFirst)
			if err != nil {
				return nil, err
			}
			chain = append(chain, anchor{size: oldFirst, root: root})
		}
	}
	origin, err := j.loadOrigin()
	if err != nil {
		return nil, err
	}
	var signed []Signed
	mem, err := readMemory(j.fs, filepath.Join(j.dir, signedName), true)
	if err != nil {
		return nil, err
	}
	if s, ok := mem[origin]; ok {
		signed = append(signed, s)
	}
	if cp, err := readCheckpointFile(j.fs, j.dir); err == nil && cp.Origin == origin {
		signed = append(signed, Signed{Size: cp.Size, Root: cp.Root})
	}
	for _, s := range signed {
		if s.Size >= first || s.Size < oldFirst || s.Size == 0 {
			continue
		}
		root, err := j.rootAt(ctx, s.Size)
		if err != nil {
			return nil, err
		}
		if root != s.Root {
			return nil, tamperedAt(filepath.Join(j.dir, checkpointName), -1, "the log's records do not give the signed root for %d records", s.Size)
		}
		if !slices.ContainsFunc(chain, func(a anchor) bool { return a.size == s.Size }) {
			chain = append(chain, anchor{size: s.Size, root: s.Root})
		}
	}
	slices.SortFunc(chain, func(a, b anchor) int { return cmpUint(a.size, b.size) })
	var lines []string
	for i := range chain {
		a := &chain[i]
		if a.size >= oldFirst {
			next := first
			if i+1 < len(chain) {
				next = chain[i+1].size
			}
			p, err := j.consistencySpansProof(ctx, a.size, next)
			if err != nil {
				return nil, err
			}
			a.proof = p
		}
		lines = append(lines, a.line())
	}
	return lines, nil
}

func (j *Journal) consistencySpansProof(ctx context.Context, oldSize, newSize uint64) ([]Hash, error) {
	if oldSize == 0 || oldSize == newSize {
		return nil, nil
	}
	return j.hashSpans(ctx, consistencySpans(oldSize, 0, newSize, true), newSize)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// proveDropped checks a checkpoint whose tree predates the retained
// records against the retention record that dropped them.
func (v *verifier) proveDropped(c *Checkpoint) error {
	if c.Size == 0 {
		if c.Root != emptyRoot {
			return errors.New("its root is not the empty tree's")
		}
		return nil
	}
	var r *retention
	for i := range v.drops {
		if v.drops[i].first == v.rep.First {
			r = &v.drops[i]
		}
	}
	if r == nil {
		return fmt.Errorf("records before index %d were dropped and no retention record proves that the log extends them", v.rep.First)
	}
	return r.proves(v.roots[v.rep.First], c.Size, c.Root)
}
