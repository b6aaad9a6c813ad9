//go:build unix

package journal

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/durable-go/durable/internal/errs"
	"github.com/durable-go/durable/internal/testdir"
)

// Options.NoFollow: a journal kept under a derived name (the store's patch
// log) is never reached through a link, in any directory, and nothing is
// created where the link leads; anything else at the name is refused too.
// Without it, a link the caller owns is followed, as before.
func TestNoFollowRefusesLinkedDirectory(t *testing.T) {
	dir := testdir.New(t)
	elsewhere := filepath.Join(dir, "elsewhere")
	if err := os.Mkdir(elsewhere, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "doc.json.patchlog")
	if err := os.Symlink(elsewhere, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.patchlog")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{link, fifo} {
		for _, ro := range []bool{false, true} {
			j, err := Open(name, &Options{NoFollow: true, ReadOnly: ro})
			if err == nil {
				j.Close()
				t.Fatalf("Open(%s, NoFollow, ReadOnly=%v) succeeded", name, ro)
			}
			if !errors.Is(err, errs.ErrUnsafeFile) {
				t.Errorf("Open(%s, NoFollow, ReadOnly=%v): %v, want ErrUnsafeFile", name, ro, err)
			}
		}
	}
	if ents, err := os.ReadDir(elsewhere); err != nil || len(ents) != 0 {
		t.Fatalf("the link's target holds %v (%v), want nothing created there", ents, err)
	}
	j, err := Open(link, nil)
	if err != nil {
		t.Fatalf("without NoFollow the caller's own link is followed: %v", err)
	}
	j.Close()
	if ents, _ := os.ReadDir(elsewhere); len(ents) == 0 {
		t.Fatal("without NoFollow the journal was not created through the link")
	}
}
