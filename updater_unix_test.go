//go:build unix

package durable_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
)

// An Updater that found a plain file last time no longer looks at the name
// before it opens the file; a symbolic link put in the file's place must
// still be followed (and kept), and a file put back in the link's place
// must be written as itself. Target says which file an update is on.
func TestUpdaterFollowsALinkThatAppears(t *testing.T) {
	dir := testdir.New(t)
	name, real := filepath.Join(dir, "cfg"), filepath.Join(dir, "real")
	ctx := context.Background()
	u := durable.NewUpdater(name)
	defer u.Close()
	step := func(wantOld, next, wantTarget string) {
		t.Helper()
		err := u.Update(ctx, func(old []byte) ([]byte, error) {
			if string(old) != wantOld {
				t.Errorf("old = %q, want %q", old, wantOld)
			}
			if got := u.Target(); got != wantTarget {
				t.Errorf("Target() = %q, want %q", got, wantTarget)
			}
			return []byte(next), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Target(); got != "" {
			t.Errorf("Target() = %q after Update, want \"\"", got)
		}
	}
	content := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	isLink := func() bool {
		fi, err := os.Lstat(name)
		return err == nil && fi.Mode()&fs.ModeSymlink != 0
	}

	step("", "v1", name)
	step("v1", "v2", name)
	os.Remove(name)
	os.WriteFile(real, []byte("r0"), 0o644)
	if err := os.Symlink("real", name); err != nil {
		t.Fatal(err)
	}
	step("r0", "r1", real)
	if !isLink() || content(real) != "r1" {
		t.Fatalf("after the link appeared: link kept %v, real = %q; want true, \"r1\"", isLink(), content(real))
	}
	step("r1", "r2", real)
	os.Remove(name)
	os.WriteFile(name, []byte("p0"), 0o644)
	step("p0", "p1", name)
	if isLink() || content(name) != "p1" || content(real) != "r2" {
		t.Fatalf("after the file came back: link %v, cfg = %q, real = %q; want false, \"p1\", \"r2\"", isLink(), content(name), content(real))
	}

	// NoFollow refuses the link that appears, and writes nothing.
	nf := durable.NewUpdater(name, durable.NoFollow())
	defer nf.Close()
	put := func(old []byte) ([]byte, error) { return []byte("nf"), nil }
	if err := nf.Update(ctx, put); err != nil {
		t.Fatal(err)
	}
	os.Remove(name)
	os.Symlink("real", name)
	if err := nf.Update(ctx, put); !errors.Is(err, durable.ErrSymlink) {
		t.Fatalf("NoFollow over a link: err = %v, want ErrSymlink", err)
	}
	if !isLink() || content(real) != "r2" {
		t.Fatalf("NoFollow changed something: link %v, real = %q", isLink(), content(real))
	}
}
