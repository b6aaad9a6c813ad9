package journal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/vfs"
)

// Checkpoint is a signed statement of the log's size and Merkle root: a
// C2SP checkpoint (https://c2sp.org/tlog-checkpoint) in a signed note
// (https://c2sp.org/signed-note), whose body is
//
//	<origin>\n<tree size>\n<root hash, base64>\n
//
// The origin is Options.Origin, "/" and the log id in hexadecimal, so a
// checkpoint names the log it belongs to.
type Checkpoint struct {
	Origin string
	LogID  [16]byte
	Size   uint64
	Root   Hash
	// Signers names the keys whose signatures were verified; it is empty
	// when the note was parsed without a verifier.
	Signers []string
	// Note is the signed note, as stored.
	Note []byte
}

func (j *Journal) defaultOrigin() string { return j.o.Origin + "/" + hex.EncodeToString(j.logID[:]) }

// ParseCheckpoint parses a signed checkpoint. With verifiers it also checks
// that a key among them signed it (an error wrapping ErrTampered
// otherwise); with nil it only parses the text, which proves nothing about
// who wrote it.
func ParseCheckpoint(msg []byte, verifiers note.Verifiers) (*Checkpoint, error) {
	var text string
	var signers []string
	if verifiers != nil {
		n, err := note.Open(msg, verifiers)
		if err != nil {
			return nil, fmt.Errorf("%w: checkpoint signature: %w", ErrTampered, err)
		}
		text = n.Text
		for _, s := range n.Sigs {
			signers = append(signers, s.Name)
		}
	} else {
		i := bytes.Index(msg, []byte("\n\n"))
		if i < 0 {
			return nil, fmt.Errorf("%w: checkpoint is not a signed note", ErrCorrupt)
		}
		text = string(msg[:i+1])
	}
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return nil, fmt.Errorf("%w: checkpoint has fewer than three lines", ErrCorrupt)
	}
	c := &Checkpoint{Origin: lines[0], Signers: signers, Note: append([]byte(nil), msg...)}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: checkpoint tree size %q", ErrCorrupt, lines[1])
	}
	c.Size = size
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != len(c.Root) {
		return nil, fmt.Errorf("%w: checkpoint root hash %q", ErrCorrupt, lines[2])
	}
	copy(c.Root[:], root)
	if i := strings.LastIndexByte(c.Origin, '/'); i >= 0 {
		if id, err := hex.DecodeString(c.Origin[i+1:]); err == nil && len(id) == len(c.LogID) {
			copy(c.LogID[:], id)
		}
	}
	return c, nil
}

func readCheckpointFile(fsys vfs.FS, dir string) (*Checkpoint, error) {
	data, err := sidecar.ReadFile(fsys, filepath.Join(dir, checkpointName))
	if err != nil {
		return nil, err
	}
	return ParseCheckpoint(data, nil)
}

// CheckpointOptions configure CheckpointWith.
type CheckpointOptions struct {
	// Memory is a second file that remembers the largest tree signed per
	// origin, kept away from the log's directory (the CLI keeps it beside
	// the key). The directory's own memory ("signed") goes back in time
	// when the directory is restored from a backup or copied; this one
	// does not, so the signer refuses to sign the older tree.
	Memory string
	// Witnesses, when set, are asked to cosign the new checkpoint (see
	// Witness); their cosignatures are attached to the stored note.
	Witnesses *WitnessOptions
}

// Checkpoint signs the log's current size and root with signer (an Ed25519
// key from note.GenerateKey), stores the signed note in the file
// "checkpoint" in the directory with a durable atomic replace, and returns
// it. It is CheckpointWith with no options.
func (j *Journal) Checkpoint(ctx context.Context, signer note.Signer) ([]byte, error) {
	return j.CheckpointWith(ctx, signer, nil)
}

// CheckpointWith is Checkpoint with options.
//
// It never signs two trees that are not consistent: before signing, it
// proves that the log extends every tree it remembers signing (the file
// "signed" in the directory, opts.Memory) and the stored checkpoint, from
// the records or, for records DropBefore removed, from the consistency
// proofs its retention records carry. A log that was truncated, rewritten,
// restored from an older copy, or replaced by one that does not extend the
// signed tree is refused with an error wrapping ErrTampered, and nothing
// changes. The memory is updated durably before the signature is made, so
// a crash at any point never lets a later call sign a tree inconsistent
// with a note this one signed. Records written unflushed (durable.Cache,
// Tx.AppendUnflushed) are flushed first: a signature never covers records a power
// cut could take back.
//
// Keep the returned note somewhere an attacker of this machine cannot
// reach too (a witness, another host, a ticket): only a checkpoint kept
// elsewhere catches someone who can rewrite the whole directory and holds
// the key.
func (j *Journal) CheckpointWith(ctx context.Context, signer note.Signer, opts *CheckpointOptions) ([]byte, error) {
	var o CheckpointOptions
	if opts != nil {
		o = *opts
	}
	var msg []byte
	var signed Signed
	err := j.do(ctx, "checkpoint", func() error {
		if j.unflushed || !j.o.flushes() {
			if err := vfs.Datasync(j.seg.f); err != nil {
				return err
			}
			j.unflushed = false
		}
		origin, err := j.loadOrigin()
		if err != nil {
			return err
		}
		size, root := j.next, j.tree.root()
		path := filepath.Join(j.dir, checkpointName)
		type known struct {
			what string
			path string
			s    Signed
		}
		var olds []known
		memPath := filepath.Join(j.dir, signedName)
		dirMem, err := readMemory(j.fs, memPath, true)
		if err != nil {
			return err
		}
		if s, ok := dirMem[origin]; ok {
			olds = append(olds, known{"the tree this log remembers signing", memPath, s})
		}
		var extMem memory
		if o.Memory != "" {
			if extMem, err = readMemory(j.fs, o.Memory, false); err != nil {
				return err
			}
			if s, ok := extMem[origin]; ok {
				olds = append(olds, known{"the tree the signer remembers signing (" + o.Memory + ")", o.Memory, s})
			}
		}
		if old, err := readCheckpointFile(j.fs, j.dir); err == nil {
			if old.Origin != origin {
				return &Error{Op: "checkpoint", Path: path, Offset: -1, kinds: []error{ErrTampered},
					Err: fmt.Errorf("the stored checkpoint is for %q, not this log (%s)", old.Origin, origin)}
			}
			olds = append(olds, known{"the stored checkpoint", path, Signed{Origin: origin, Size: old.Size, Root: old.Root}})
		} else if !errors.Is(err, fs.ErrNotExist) {
			return &Error{Op: "checkpoint", Path: path, Offset: -1, Err: err}
		}
		for _, k := range olds {
			if err := j.proveExtends(ctx, k.s, size, root); err != nil {
				return &Error{Op: "checkpoint", Path: k.path, Offset: -1, kinds: []error{ErrTampered},
					Err: fmt.Errorf("refusing to sign %d records: %s has %d records and %w", size, k.what, k.s.Size, err)}
			}
		}
		signed = Signed{Origin: origin, Size: size, Root: root}
		// Remember first: no signature exists that the memory does not cover.
		if old, ok := extMem[origin]; o.Memory != "" && (!ok || old.Size < size) {
			extMem[origin] = signed
			if err := writeMemory(j.fs, o.Memory, extMem, ""); err != nil {
				return err
			}
		}
		if old, ok := dirMem[origin]; !ok || old.Size < size {
			dirMem[origin] = signed
			if err := writeMemory(j.fs, memPath, dirMem, j.dir); err != nil {
				return err
			}
		}
		body := fmt.Sprintf("%s\n%d\n%s\n", origin, size, root.Base64())
		m, err := note.Sign(&note.Note{Text: body}, signer)
		if err != nil {
			return err
		}
		if err := durable.WriteFile(path, m, 0o644, durable.WithFS(j.fs), durable.SidecarOf(j.dir)); err != nil {
			return err
		}
		msg = m
		return nil
	})
	if err != nil || o.Witnesses == nil {
		return msg, err
	}
	return j.witness(ctx, msg, signed, o.Witnesses)
}

// proveExtends checks that the log, of size records with root root, is
// the signed tree old or extends it. Records DropBefore removed are
// vouched for by the consistency proofs of the retention record that
// removed them; without one, nothing is proven and it fails.
func (j *Journal) proveExtends(ctx context.Context, old Signed, size uint64, root Hash) error {
	switch {
	case old.Size == 0:
		if old.Root != emptyRoot {
			return errors.New("its root is not the empty tree's")
		}
		return nil
	case old.Size > size:
		return fmt.Errorf("the log has %d: it was truncated, or restored from an older copy", size)
	case old.Size == size:
		if old.Root != root {
			return errors.New("the log's root for them differs: it was rewritten, or is another copy")
		}
		return nil
	}
	bases, err := listSegments(j.fs, j.dir)
	if err != nil {
		return err
	}
	if len(bases) == 0 || old.Size >= bases[0] {
		r, err := j.rootAt(ctx, old.Size)
		if err != nil {
			return fmt.Errorf("their root cannot be computed: %w", err)
		}
		if r != old.Root {
			return errors.New("the log's records give another root for them: records were changed")
		}
		return nil
	}
	return j.proveDropped(ctx, bases[0], old)
}
