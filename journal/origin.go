package journal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/sidecar"
)

// originName is the file that keeps a log's origin (SetOrigin). Without
// it, checkpoints carry the default origin, Options.Origin and the log id.
const originName = "origin"

// ValidOrigin reports whether s can be an origin line and a signed-note key
// name: not empty, valid UTF-8, no white space and no "+".
func ValidOrigin(s string) bool {
	return s != "" && utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsSpace) && !strings.Contains(s, "+")
}

// Origin returns the origin line this journal's checkpoints carry: the one
// set with SetOrigin, or Options.Origin, "/" and the log id in
// hexadecimal.
func (j *Journal) Origin() string { return j.origin() }

func (j *Journal) origin() string {
	o, err := j.loadOrigin()
	if err != nil {
		return j.defaultOrigin()
	}
	return o
}

func (j *Journal) loadOrigin() (string, error) {
	data, err := sidecar.ReadFile(j.fs, filepath.Join(j.dir, originName))
	if errors.Is(err, fs.ErrNotExist) {
		return j.defaultOrigin(), nil
	}
	if err != nil {
		return "", err
	}
	o := strings.TrimSuffix(string(data), "\n")
	if !ValidOrigin(o) {
		return "", fmt.Errorf("%w: %s: %q is not an origin", ErrCorrupt, filepath.Join(j.dir, originName), o)
	}
	return o, nil
}

// SetOrigin gives the log the origin its checkpoints carry from now on,
// kept in the file "origin" in its directory. C2SP names the signing key
// after the origin ("durable log keygen --origin"), and a witness tells
// logs apart by it, so choose one per log, such as "example.com/audit". It
// is set once: SetOrigin fails when the log already has another origin, or
// has signed checkpoints under the default one.
func (j *Journal) SetOrigin(ctx context.Context, origin string) error {
	if !ValidOrigin(origin) {
		return &Error{Op: "set origin", Path: j.dir, Offset: -1, Err: fmt.Errorf("%q is not an origin: it must be non-empty UTF-8 with no white space and no '+'", origin)}
	}
	return j.do(ctx, "set origin", func() error {
		path := filepath.Join(j.dir, originName)
		cur, err := j.loadOrigin()
		if err != nil {
			return err
		}
		if cur == origin {
			return nil
		}
		if _, err := sidecar.ReadFile(j.fs, path); err == nil {
			return fmt.Errorf("the log's origin is already %q", cur)
		}
		mem, err := readMemory(j.fs, filepath.Join(j.dir, signedName), true)
		if err != nil {
			return err
		}
		_, signed := mem[cur]
		if cp, err := readCheckpointFile(j.fs, j.dir); err == nil || signed {
			if cp != nil {
				cur = cp.Origin
			}
			return fmt.Errorf("the log already signed checkpoints as %q: its origin cannot change", cur)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return durable.WriteFile(path, []byte(origin+"\n"), 0o644, durable.WithFS(j.fs), durable.SidecarOf(j.dir))
	})
}

func readSidecar(j *Journal, name string) ([]byte, error) {
	return sidecar.ReadFile(j.fs, filepath.Join(j.dir, name))
}
