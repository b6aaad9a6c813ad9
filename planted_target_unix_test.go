//go:build unix

package durable_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/store"
)

// A FIFO at the name a caller reads or updates (planted by another user
// before the file existed) is refused at once: no call waits for a writer
// that never comes, and the FIFO is left as it was.
func TestFIFOAtTargetIsRefusedAtOnce(t *testing.T) {
	calls := map[string]func(name string) error{
		"ReadFile": func(name string) error { _, err := durable.ReadFile(name); return err },
		"ReadRev": func(name string) error {
			_, _, err := durable.ReadRev(name)
			return err
		},
		"WriteFile": func(name string) error { return durable.WriteFile(name, []byte("x"), 0o600) },
		"Update": func(name string) error {
			return durable.Update(name, func([]byte) ([]byte, error) { return []byte("x"), nil })
		},
		"Updater": func(name string) error {
			u := durable.NewUpdater(name)
			defer u.Close()
			return u.Update(context.Background(), func([]byte) ([]byte, error) { return []byte("x"), nil })
		},
		"store.Open": func(name string) error {
			_, err := store.Open[map[string]int](name, nil)
			return err
		},
	}
	for what, call := range calls {
		t.Run(what, func(t *testing.T) {
			name := filepath.Join(testdir.New(t), "doc.json")
			if err := syscall.Mkfifo(name, 0o666); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- call(name) }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatalf("%s of a FIFO succeeded", what)
				}
				t.Logf("%s: %v", what, err)
			case <-time.After(10 * time.Second):
				// Unblock the call so the test binary can end.
				if f, err := os.OpenFile(name, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
				t.Fatalf("%s of a FIFO still waits after 10s", what)
			}
			if fi, err := os.Lstat(name); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
				t.Fatalf("the FIFO was replaced or removed: %v %v", fi, err)
			}
		})
	}
}

// NoClobber is O_EXCL's kind of create: a link at the name, even a
// dangling one that would lead to a new file elsewhere, means the name
// exists, and nothing is created through it.
func TestNoClobberFollowsNoLink(t *testing.T) {
	dir := testdir.New(t)
	elsewhere := filepath.Join(dir, "elsewhere", "secret.key")
	if err := os.Mkdir(filepath.Dir(elsewhere), 0o755); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "signer.key")
	if err := os.Symlink(elsewhere, name); err != nil {
		t.Fatal(err)
	}
	err := durable.WriteFile(name, []byte("key"), 0o600, durable.NoClobber())
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("WriteFile NoClobber through a dangling link: %v, want fs.ErrExist", err)
	}
	if p, err := durable.Create(name, 0o600, durable.NoClobber()); !errors.Is(err, fs.ErrExist) {
		if err == nil {
			p.Cleanup()
		}
		t.Fatalf("Create NoClobber through a dangling link: %v, want fs.ErrExist", err)
	}
	if _, err := os.Lstat(elsewhere); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a file was created through the link: %v", err)
	}
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	if err := durable.WriteFile(name, []byte("key"), 0o600, durable.NoClobber()); err != nil {
		t.Fatalf("WriteFile NoClobber of a free name: %v", err)
	}
}
