//go:build unix

package durable_test

import (
	"context"
	crand "crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/queue"
	"github.com/durable-go/durable/store"
)

// A plantKind is what another user may put at a name durable keeps beside the
// caller's data, in a directory both may write.
type plantKind struct {
	name string
	do   func(t *testing.T, at, outside string)
}

var plants = []plantKind{
	{"dangling symlink", func(t *testing.T, at, outside string) {
		must(t, os.Symlink(outside+".new", at))
	}},
	{"symlink", func(t *testing.T, at, outside string) {
		must(t, os.Symlink(outside, at))
	}},
	{"hard link", func(t *testing.T, at, outside string) {
		must(t, os.Link(outside, at))
	}},
	{"FIFO", func(t *testing.T, at, outside string) {
		must(t, syscall.Mkfifo(at, 0o666))
	}},
	{"directory", func(t *testing.T, at, outside string) {
		must(t, os.Mkdir(at, 0o755))
	}},
}

// A sidecarCase sets up data in dir, names the sidecar to plant at, and
// runs the operation that would use it.
type sidecarCase struct {
	name  string
	setup func(t *testing.T, dir string) (at string, op func() error)
	// mayPass: the operation may succeed by putting its own file in the
	// plant's place (a rename replaces a link, never follows it).
	mayPass bool
}

func sidecarCases() []sidecarCase {
	ctx := context.Background()
	return []sidecarCase{
		{name: "Update lock", setup: func(t *testing.T, dir string) (string, func() error) {
			name := filepath.Join(dir, "state.txt")
			must(t, os.WriteFile(name, []byte("x"), 0o600))
			return name + ".lock", func() error {
				return durable.Update(name, func(b []byte) ([]byte, error) { return append(b, 'y'), nil })
			}
		}},
		{name: "store lock", setup: func(t *testing.T, dir string) (string, func() error) {
			name := filepath.Join(dir, "config.json")
			return name + ".lock", func() error {
				s, err := store.Open[sideDoc](name, nil)
				if err != nil {
					return err
				}
				_, err = s.Update(ctx, func(d *sideDoc) error { d.A++; return nil })
				return err
			}
		}},
		{name: "store backup read in a recovery", setup: func(t *testing.T, dir string) (string, func() error) {
			name := filepath.Join(dir, "config.json")
			must(t, os.WriteFile(name, []byte("{torn"), 0o600))
			return name + ".bak.1", func() error {
				_, err := store.Open[sideDoc](name, &store.Options[sideDoc]{OnRecover: func(*store.RecoveredError) {}})
				return err
			}
		}},
		{name: "store backup rotated", mayPass: true, setup: func(t *testing.T, dir string) (string, func() error) {
			name := filepath.Join(dir, "config.json")
			must(t, os.WriteFile(name, []byte(`{"A":1}`), 0o600))
			return name + ".bak.2", func() error {
				s, err := store.Open[sideDoc](name, &store.Options[sideDoc]{Backups: 3})
				if err != nil {
					return err
				}
				for range 3 {
					if _, err := s.Update(ctx, func(d *sideDoc) error { d.A++; return nil }); err != nil {
						return err
					}
				}
				return nil
			}
		}},
		{name: "journal lock", setup: func(t *testing.T, dir string) (string, func() error) {
			jdir := filepath.Join(dir, "log")
			must(t, os.Mkdir(jdir, 0o700))
			return filepath.Join(jdir, "journal.lock"), func() error {
				j, err := journal.Open(jdir, nil)
				if err != nil {
					return err
				}
				defer j.Close()
				_, err = j.Append(ctx, []byte("r"))
				return err
			}
		}},
		{name: "journal checkpoint", setup: func(t *testing.T, dir string) (string, func() error) {
			jdir := filepath.Join(dir, "log")
			must(t, os.Mkdir(jdir, 0o700))
			skey, vkey, err := note.GenerateKey(crand.Reader, "planted")
			must(t, err)
			signer, err := note.NewSigner(skey)
			must(t, err)
			verifier, err := note.NewVerifier(vkey)
			must(t, err)
			return filepath.Join(jdir, "checkpoint"), func() error {
				j, err := journal.Open(jdir, nil)
				if err != nil {
					return err
				}
				defer j.Close()
				if _, err := j.Append(ctx, []byte("r")); err != nil {
					return err
				}
				_, cerr := j.Checkpoint(ctx, signer)
				_, verr := journal.Verify(ctx, jdir, &journal.VerifyOptions{Verifier: verifier})
				return errors.Join(cerr, verr)
			}
		}},
		{name: "journal next segment", setup: func(t *testing.T, dir string) (string, func() error) {
			jdir := filepath.Join(dir, "log")
			must(t, os.Mkdir(jdir, 0o700))
			// 4 KiB segments hold a few 500-byte records each; the
			// first segment covers indexes 0 to 5.
			return filepath.Join(jdir, "00000000000000000006.seg"), func() error {
				j, err := journal.Open(jdir, &journal.Options{SegmentSize: 4096})
				if err != nil {
					return err
				}
				defer j.Close()
				for range 20 {
					if _, err := j.Append(ctx, make([]byte, 500)); err != nil {
						return err
					}
				}
				return nil
			}
		}},
		{name: "queue lock", setup: func(t *testing.T, dir string) (string, func() error) {
			qdir := filepath.Join(dir, "jobs")
			must(t, os.Mkdir(qdir, 0o700))
			return filepath.Join(qdir, "journal.lock"), func() error {
				q, err := queue.Open(qdir, nil)
				if err != nil {
					return err
				}
				defer q.Close()
				_, err = q.Push(ctx, []byte("job"))
				return err
			}
		}},
		{name: "JSON Lines lock", setup: func(t *testing.T, dir string) (string, func() error) {
			name := filepath.Join(dir, "events.jsonl")
			return name + ".lock", func() error {
				f, err := jsonl.Open(name, nil)
				if err != nil {
					return err
				}
				defer f.Close()
				return f.Append(ctx, map[string]int{"a": 1})
			}
		}},
	}
}

// TestSidecarPlanted plants a link, a hard link, a FIFO or a directory at
// each name durable keeps beside the caller's data and runs what uses it:
// each must end in bounded time, with an error that wraps
// durable.ErrUnsafeFile (or, where the plant is merely replaced, success),
// and nothing outside the directory may be created or changed (issue 16,
// item 13).
func TestSidecarPlanted(t *testing.T) {
	for _, c := range sidecarCases() {
		for _, p := range plants {
			t.Run(c.name+"/"+p.name, func(t *testing.T) {
				dir, out := t.TempDir(), t.TempDir()
				outside := filepath.Join(out, "precious")
				must(t, os.WriteFile(outside, []byte("precious"), 0o644))
				before, err := os.Lstat(outside)
				must(t, err)
				at, op := c.setup(t, dir)
				p.do(t, at, outside)

				done := make(chan error, 1)
				go func() { done <- op() }()
				select {
				case err = <-done:
				case <-time.After(15 * time.Second):
					t.Fatalf("hung: still running after 15s with a %s at %s", p.name, at)
				}
				switch {
				case err == nil && !c.mayPass:
					t.Errorf("succeeded with a %s at %s", p.name, at)
				case err != nil && !errors.Is(err, durable.ErrUnsafeFile):
					t.Errorf("error %v does not wrap ErrUnsafeFile", err)
				}
				ents, err := os.ReadDir(out)
				must(t, err)
				after, err := os.Lstat(outside)
				must(t, err)
				data, _ := os.ReadFile(outside)
				if len(ents) != 1 || string(data) != "precious" || after.Mode() != before.Mode() ||
					!after.ModTime().Equal(before.ModTime()) || owner(after) != owner(before) {
					t.Errorf("outside changed: %d entries, %q, %v (was %v)", len(ents), data, after.Mode(), before.Mode())
				}
			})
		}
	}
}

type sideDoc struct{ A, B int }

func owner(fi os.FileInfo) [2]uint32 {
	st := fi.Sys().(*syscall.Stat_t)
	return [2]uint32{st.Uid, st.Gid}
}
