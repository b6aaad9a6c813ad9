package journal

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/internal/follow"
	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/vfs"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// FS is the filesystem (vfs.OS{} by default).
	FS vfs.FS
	// Verifier is the trusted public key of the checkpoint signer. Without
	// it the stored checkpoint is parsed but its signature is not checked,
	// which proves nothing against an attacker who can write the directory.
	Verifier note.Verifier
	// Remembered is a checkpoint kept somewhere the attacker cannot reach
	// (another machine, a ticket, a transparency log). It is the only
	// defence against someone who can rewrite the whole directory, the
	// stored checkpoint included, and sign with the key.
	Remembered []byte
	// Witnesses are the verifier keys of trusted witnesses
	// (NewCosignatureVerifier); with them, the stored checkpoint must
	// carry valid cosignatures from Quorum of them (all of them when
	// Quorum is 0), or Verify fails with ErrTampered.
	Witnesses []note.Verifier
	Quorum    int
}

// Report is what Verify found.
type Report struct {
	Dir      string
	LogID    string // hexadecimal
	Segments int
	First    uint64 // the first retained index
	Size     uint64 // tree size: the index after the last committed record
	Root     Hash   // Merkle root of the tree of Size records
	Records  uint64 // records checked (Size - First)
	Batches  uint64 // commit frames checked
	// Torn describes bytes after the last commit of the last segment that
	// a crash left and no writer has cut yet: not damage, since they were
	// never acknowledged. Opening the journal for writing cuts them.
	Torn *TornTail
	// Uncovered counts the records no checkpoint covers: those after the
	// larger of the stored and the remembered checkpoint (every record
	// when there is none). A signed checkpoint vouches for nothing after
	// its size.
	Uncovered uint64
	// Checkpoint is the stored checkpoint, Remembered the one the caller
	// passed; Verified says whether a trusted key's signature was checked.
	Checkpoint         *Checkpoint
	CheckpointVerified bool
	Remembered         *Checkpoint
	// Cosigners names the trusted witnesses whose cosignatures on the
	// stored checkpoint verified.
	Cosigners []string
	// Notes are the journal's own records: recoveries and retention.
	Notes []string
	// Warnings say what could not be checked.
	Warnings []string
}

// TornTail is an unacknowledged torn tail.
type TornTail struct {
	Path   string
	Offset int64
	Bytes  int64
}

// Verify checks a journal directory without changing it: every header and
// frame checksum, the chain of segments (one log id, contiguous base
// indices, seals, the Merkle state carried from segment to segment), every
// commit's root, and the tree against the stored checkpoint (signed by
// opts.Verifier) and against opts.Remembered. It tells apart a torn tail
// (benign: in the report, no error), corruption (an error wrapping
// ErrCorrupt) and tampering (an error wrapping ErrTampered: records
// altered, removed, reordered or inserted, the log cut below a checkpoint,
// a checkpoint signed by another key, a segment from another log, a
// checkpoint older than the remembered one). The error names the file and
// offset. The report is returned also with an error, filled as far as the
// check went.
func Verify(ctx context.Context, dir string, opts *VerifyOptions) (*Report, error) {
	var o VerifyOptions
	if opts != nil {
		o = *opts
	}
	if o.FS == nil {
		o.FS = vfs.OS{}
	}
	v := &verifier{ctx: ctx, dir: dir, o: o, rep: &Report{Dir: dir}}
	err := follow.Dir(o.FS, dir)
	if err == nil {
		err = v.run()
	}
	if err != nil {
		return v.rep, wrapErr("verify", dir, err)
	}
	return v.rep, nil
}

type verifier struct {
	ctx context.Context
	dir string
	o   VerifyOptions
	rep *Report

	cp, rem   *Checkpoint
	watch     map[uint64]bool
	roots     map[uint64]Hash
	dropFirst uint64 // from the last retention record
	hasDrop   bool
	drops     []retention // the retention records, parsed
}

func (v *verifier) tampered(path string, format string, args ...any) error {
	return &Error{Op: "verify", Path: path, Offset: -1, Err: fmt.Errorf(format, args...), kinds: []error{ErrTampered}}
}

func (v *verifier) loadCheckpoints() error {
	var vs note.Verifiers
	if v.o.Verifier != nil {
		vs = note.VerifierList(v.o.Verifier)
	}
	path := filepath.Join(v.dir, checkpointName)
	data, err := sidecar.ReadFile(v.o.FS, path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && len(v.o.Witnesses) > 0:
		return v.tampered(path, "no checkpoint, so no witness cosigned this log")
	case errors.Is(err, fs.ErrNotExist):
		v.rep.Warnings = append(v.rep.Warnings, "no checkpoint: a rewritten or truncated log cannot be told from a genuine one (run Checkpoint)")
	case err != nil:
		return err
	default:
		cp, err := ParseCheckpoint(data, vs)
		if err != nil {
			if errors.Is(err, ErrTampered) {
				return v.tampered(path, "the checkpoint is not signed by the trusted key %s: %v", v.o.Verifier.Name(), err)
			}
			return &Error{Op: "verify", Path: path, Offset: -1, Err: err}
		}
		v.cp = cp
		v.rep.Checkpoint = cp
		if err := v.checkWitnesses(path, data); err != nil {
			return err
		}
		v.rep.CheckpointVerified = vs != nil
		if vs == nil {
			v.rep.Warnings = append(v.rep.Warnings, "checkpoint signature not checked: no trusted key given")
		}
	}
	if v.o.Remembered != nil {
		// What is not a checkpoint at all is a mistake of the caller's
		// or damage, not a forgery.
		if len(bytes.TrimSpace(v.o.Remembered)) == 0 {
			return &Error{Op: "verify", Path: "remembered checkpoint", Offset: -1, Err: fmt.Errorf("%w: the remembered checkpoint is empty", ErrCorrupt)}
		}
		if _, err := ParseCheckpoint(v.o.Remembered, nil); err != nil {
			return &Error{Op: "verify", Path: "remembered checkpoint", Offset: -1, Err: err, kinds: []error{ErrCorrupt}}
		}
		rem, err := ParseCheckpoint(v.o.Remembered, vs)
		if err != nil {
			if errors.Is(err, ErrTampered) {
				return v.tampered("remembered checkpoint", "%v", err)
			}
			return &Error{Op: "verify", Path: "remembered checkpoint", Offset: -1, Err: err}
		}
		v.rem = rem
		v.rep.Remembered = rem
		switch {
		case v.cp == nil:
			return v.tampered(path, "the stored checkpoint is missing, but one for %d records is remembered", rem.Size)
		case rem.Size > v.cp.Size:
			return v.tampered(path, "rolled back: the stored checkpoint covers %d records, the remembered one %d", v.cp.Size, rem.Size)
		case rem.Size == v.cp.Size && rem.Root != v.cp.Root:
			return v.tampered(path, "the stored and the remembered checkpoint for %d records have different roots", rem.Size)
		}
	}
	v.watch = map[uint64]bool{}
	for _, c := range []*Checkpoint{v.cp, v.rem} {
		if c != nil {
			v.watch[c.Size] = true
		}
	}
	return nil
}

func (v *verifier) run() error {
	if err := v.loadCheckpoints(); err != nil {
		return err
	}
	bases, err := listSegments(v.o.FS, v.dir)
	if err != nil {
		return err
	}
	start, err := chainStart(v.o.FS, v.dir, bases, 0)
	if err != nil {
		return err
	}
	if start > 0 {
		v.rep.Warnings = append(v.rep.Warnings, fmt.Sprintf("%d segment(s) before %s are not linked to the log and were not checked: the leftovers of a DropBefore that a crash interrupted, which a retention record must cover", start, segName(bases[start])))
		bases = bases[start:]
	}
	v.rep.Segments = len(bases)
	v.roots = map[uint64]Hash{0: emptyRoot}
	if len(bases) == 0 {
		v.rep.Root = emptyRoot
		return v.checkCheckpoints()
	}
	var logID [16]byte
	var tree compact
	var prev *scanner
	for i, b := range bases {
		last := i == len(bases)-1
		seg, err := openSegment(v.o.FS, v.dir, b, false)
		if err != nil {
			return err
		}
		err = v.segment(i, bases, seg, &logID, &tree, &prev, last)
		seg.close()
		if err != nil {
			return err
		}
	}
	v.rep.Size = prev.next
	v.rep.Root = tree.root()
	if t := v.rep.Torn; t != nil {
		for _, c := range []*Checkpoint{v.cp, v.rem} {
			if c != nil && c.Size > v.rep.Size {
				// Acknowledged before the checkpoint was taken: the
				// damage was not made by a crash.
				v.rep.Torn = nil
				return corruptAt(t.Path, t.Offset, "the %s checkpoint covers %d records, but the intact ones end at %d: damage below the checkpoint, not a torn tail", checkpointWhat(c, v.rem), c.Size, v.rep.Size)
			}
		}
	}
	v.rep.Records = v.rep.Size - v.rep.First
	if v.rep.First > 0 {
		switch {
		case !v.hasDrop:
			return v.tampered(filepath.Join(v.dir, segName(bases[0])), "the log starts at index %d but no retention record says records were dropped", v.rep.First)
		case v.rep.First > v.dropFirst:
			return v.tampered(filepath.Join(v.dir, segName(bases[0])), "the log starts at index %d but the retention record kept records from %d: segments are missing", v.rep.First, v.dropFirst)
		}
	}
	return v.checkCheckpoints()
}

func (v *verifier) segment(i int, bases []uint64, seg *segment, logID *[16]byte, tree *compact, prev **scanner, last bool) error {
	h := seg.hdr
	if i == 0 {
		*logID = h.logID
		v.rep.LogID = hex.EncodeToString(h.logID[:])
		v.rep.First = h.base
		t, err := newCompact(h.base, h.state)
		if err != nil {
			return corruptAt(seg.path, 0, "%v", err)
		}
		*tree = t
		v.roots[h.base] = t.root()
	} else {
		p := *prev
		switch {
		case h.logID != *logID:
			return tamperedAt(seg.path, 0, "segment belongs to another log (log id %x, want %x)", h.logID, *logID)
		case !p.sealed:
			return tamperedAt(p.seg.path, p.off, "segment ends without a seal, yet %s follows it", segName(h.base))
		case p.next != h.base:
			return tamperedAt(seg.path, 0, "segment starts at index %d, but the one before ends at %d: segments are missing or inserted", h.base, p.next)
		case h.prevBase != bases[i-1]:
			return tamperedAt(seg.path, 0, "segment says it follows the segment at %d, not %d", h.prevBase, bases[i-1])
		case !equalHashes(h.state, tree.hashes):
			return tamperedAt(seg.path, 0, "Merkle state in the header differs from the records before it")
		}
	}
	s, err := newScanner(seg, true, false)
	if err != nil {
		return err
	}
	s.tree = tree.clone()
	s.notes = true
	s.watch = v.watch
	*prev = s
	for {
		if err := v.ctx.Err(); err != nil {
			return err
		}
		k, d, err := s.step()
		if err != nil {
			return err
		}
		switch k {
		case stepBatch:
			v.rep.Batches++
			for _, r := range s.recs {
				v.rep.Notes = append(v.rep.Notes, fmt.Sprintf("%d %s: %s", r.Index, r.Type, r.Payload))
				if r.Type == TypeRetention {
					if d, err := parseRetention(r.Index, r.Payload); err == nil {
						v.drops = append(v.drops, d)
					}
					if f, ok := strings.CutPrefix(string(r.Payload), "drop-before "); ok {
						f, _, _ = strings.Cut(f, "\n")
						if n, err := strconv.ParseUint(f, 10, 64); err == nil {
							v.dropFirst, v.hasDrop = n, true
						}
					}
				}
			}
			continue
		case stepSeal:
			// Nothing but zeros may follow a seal.
			t, _, err := s.classifyTail(nil)
			if err != nil {
				return err
			}
			if t.end > t.start {
				return corruptAt(seg.path, s.off, "data after the seal")
			}
		case stepEnd, stepDamage:
			t, bad, err := s.classifyTail(d)
			if err != nil {
				return err
			}
			if bad != nil {
				return bad
			}
			if t.end > t.start {
				if !last {
					return corruptAt(seg.path, t.start, "damaged data in a segment that is not the last")
				}
				v.rep.Torn = &TornTail{Path: seg.path, Offset: t.start, Bytes: t.end - t.start}
			}
		}
		break
	}
	*tree = s.tree
	for k, r := range s.roots {
		v.roots[k] = r
	}
	return nil
}

func checkpointWhat(c, rem *Checkpoint) string {
	if c == rem {
		return "remembered"
	}
	return "stored"
}

func (v *verifier) checkCheckpoints() error {
	path := filepath.Join(v.dir, checkpointName)
	covered := v.rep.First
	for _, c := range []*Checkpoint{v.cp, v.rem} {
		if c != nil {
			covered = max(covered, c.Size)
		}
	}
	if covered < v.rep.Size {
		v.rep.Uncovered = v.rep.Size - covered
	}
	if v.cp == nil && v.o.Verifier != nil && v.rep.Size > v.rep.First {
		// With a trusted key, the checkpoint is what the log is checked
		// against: removing it (with the records after it, perhaps) must
		// not turn the check off.
		return v.tampered(path, "no checkpoint, yet a trusted key was given: %d records are covered by no signed checkpoint (it was removed, or never taken)", v.rep.Uncovered)
	}
	for _, c := range []*Checkpoint{v.cp, v.rem} {
		if c == nil {
			continue
		}
		what := "stored"
		if c == v.rem {
			what = "remembered"
		}
		if origin, err := sidecar.ReadFile(v.o.FS, filepath.Join(v.dir, originName)); err == nil {
			if want := strings.TrimSuffix(string(origin), "\n"); c.Origin != want {
				return v.tampered(path, "the %s checkpoint is for %q, not this log (%s)", what, c.Origin, want)
			}
		} else if v.rep.LogID != "" && hex.EncodeToString(c.LogID[:]) != v.rep.LogID {
			return v.tampered(path, "the %s checkpoint is for another log (%q; this log's id is %s)", what, c.Origin, v.rep.LogID)
		}
		if c.Size > v.rep.Size {
			return v.tampered(path, "the log has %d records but the %s checkpoint covers %d: records were removed", v.rep.Size, what, c.Size)
		}
		root, ok := v.roots[c.Size]
		if c.Size == v.rep.Size {
			root, ok = v.rep.Root, true
		}
		if !ok && c.Size < v.rep.First {
			if err := v.proveDropped(c); err != nil {
				return v.tampered(path, "the %s checkpoint covers %d records: %v", what, c.Size, err)
			}
			continue
		}
		if !ok {
			return v.tampered(path, "the %s checkpoint's tree of %d records cannot be computed from the log", what, c.Size)
		}
		if root != c.Root {
			return v.tampered(path, "the records do not give the %s checkpoint's root for %d records: records were altered, removed, reordered or inserted", what, c.Size)
		}
	}
	return nil
}
