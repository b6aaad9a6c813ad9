package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/sidecar"
	"github.com/durable-go/durable/vfs"
)

// The signed-tree memory: the largest tree a log's checkpoints ever
// signed, per origin. Checkpoint keeps it in the file "signed" in the
// log's directory and, with CheckpointOptions.Memory, in a second file
// (the CLI keeps that one beside the key), and refuses to sign a tree that
// it cannot prove extends what either remembers. The second copy is what
// catches a log restored from a backup together with its directory: the
// directory's own copy goes back in time with it.
const signedName = "signed"

const signedMagic = "durable-signed 1"

// Signed is a tree a log signed: its origin, size and root.
type Signed struct {
	Origin string
	Size   uint64
	Root   Hash
}

// memory is the content of a signed-tree memory file, by origin.
type memory map[string]Signed

// parseMemory parses a memory file: a magic line, one line per origin
// ("<origin> <size> <root, base64>"), and the SHA-256 of everything before
// it ("sha256 <hex>"), so that damage is refused, not read as a smaller
// tree.
func parseMemory(data []byte) (memory, error) {
	i := bytes.LastIndex(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if i < 0 {
		return nil, errors.New("not a signed-tree memory file")
	}
	body, tail := data[:i+1], strings.TrimSpace(string(data[i+1:]))
	sum := sha256.Sum256(body)
	if tail != "sha256 "+hex.EncodeToString(sum[:]) {
		return nil, errors.New("checksum mismatch: the file is damaged")
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if lines[0] != signedMagic {
		return nil, fmt.Errorf("unknown format %q", lines[0])
	}
	m := memory{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 3 {
			return nil, fmt.Errorf("bad line %q", l)
		}
		size, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad size in %q", l)
		}
		root, err := base64.StdEncoding.DecodeString(f[2])
		if err != nil || len(root) != len(Hash{}) {
			return nil, fmt.Errorf("bad root in %q", l)
		}
		if _, dup := m[f[0]]; dup {
			return nil, fmt.Errorf("origin %q twice", f[0])
		}
		s := Signed{Origin: f[0], Size: size}
		copy(s.Root[:], root)
		m[f[0]] = s
	}
	return m, nil
}

func (m memory) marshal() []byte {
	var b bytes.Buffer
	b.WriteString(signedMagic + "\n")
	for _, o := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		s := m[o]
		fmt.Fprintf(&b, "%s %d %s\n", s.Origin, s.Size, s.Root.Base64())
	}
	sum := sha256.Sum256(b.Bytes())
	fmt.Fprintf(&b, "sha256 %s\n", hex.EncodeToString(sum[:]))
	return b.Bytes()
}

// readMemory reads a memory file; a missing one is empty. inDir says the
// file is a sidecar of the log's directory (opened without following
// links).
func readMemory(fsys vfs.FS, path string, inDir bool) (memory, error) {
	var data []byte
	var err error
	if inDir {
		data, err = sidecar.ReadFile(fsys, path)
	} else {
		data, err = durable.ReadFile(path, durable.WithFS(fsys))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return memory{}, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := parseMemory(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	return m, nil
}

func writeMemory(fsys vfs.FS, path string, m memory, dir string) error {
	opts := []durable.Option{durable.WithFS(fsys)}
	if dir != "" {
		opts = append(opts, durable.SidecarOf(dir))
	}
	return durable.WriteFile(path, m.marshal(), 0o600, opts...)
}

// LastSigned returns the largest tree this log's checkpoints signed, as
// the directory remembers it, or nil when none was signed (or the
// directory does not remember one).
func (j *Journal) LastSigned() (*Signed, error) {
	m, err := readMemory(j.fs, filepath.Join(j.dir, signedName), true)
	if err != nil {
		return nil, wrapErr("checkpoint", j.dir, err)
	}
	s, ok := m[j.origin()]
	if !ok {
		return nil, nil
	}
	return &s, nil
}
