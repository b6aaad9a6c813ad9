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

// Origin returns the origin line this journal's checkpoints carry.
func (j *Journal) Origin() string { return j.o.Origin + "/" + hex.EncodeToString(j.logID[:]) }

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

// Checkpoint signs the log's current size and root with signer (an Ed25519
// key from note.GenerateKey), stores the signed note in the file
// "checkpoint" in the directory with a durable atomic replace, and returns
// it. It refuses to move backwards: when the stored checkpoint covers more
// records than the log has, or a root that the log's records do not give,
// it fails with an error wrapping ErrTampered and leaves it in place.
//
// Keep the returned note somewhere an attacker of this machine cannot
// reach too (another host, a transparency log, a ticket): only a checkpoint
// remembered elsewhere catches someone who can rewrite the whole directory
// and holds the key.
func (j *Journal) Checkpoint(ctx context.Context, signer note.Signer) ([]byte, error) {
	var msg []byte
	err := j.do(ctx, "checkpoint", func() error {
		size, root := j.next, j.tree.root()
		path := filepath.Join(j.dir, checkpointName)
		if old, err := readCheckpointFile(j.fs, j.dir); err == nil {
			if err := j.checkOld(ctx, old, size, root); err != nil {
				return &Error{Op: "checkpoint", Path: path, Offset: -1, Err: err, kinds: []error{ErrTampered}}
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return &Error{Op: "checkpoint", Path: path, Offset: -1, Err: err}
		}
		body := fmt.Sprintf("%s\n%d\n%s\n", j.Origin(), size, root.Base64())
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
	return msg, err
}

// checkOld checks that the stored checkpoint old is a prefix of the log.
func (j *Journal) checkOld(ctx context.Context, old *Checkpoint, size uint64, root Hash) error {
	switch {
	case old.Origin != j.Origin():
		return fmt.Errorf("the stored checkpoint is for %q, not this log (%s)", old.Origin, j.Origin())
	case old.Size > size:
		return fmt.Errorf("the stored checkpoint covers %d records but the log has %d: records were removed", old.Size, size)
	case old.Size == size:
		if old.Root != root {
			return fmt.Errorf("the stored checkpoint's root for %d records differs from the log's", size)
		}
		return nil
	}
	r, err := j.rootAt(ctx, old.Size)
	if err != nil {
		// Dropped records: the old checkpoint cannot be checked here.
		return nil
	}
	if r != old.Root {
		return fmt.Errorf("the stored checkpoint's root for %d records differs from the log's: records were changed", old.Size)
	}
	return nil
}
