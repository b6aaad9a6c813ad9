package checked

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
)

// A directory is the same directory after names in it come and go (its
// size and time change), and a file is told from another of the same size
// and time: identity, not looks. On Windows by volume serial and file
// index; a repair found every directory "replaced" when it compared sizes
// and times.
func TestSameIsIdentity(t *testing.T) {
	root := testdir.New(t)
	before, err := Stat(root)
	need(t, err)
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	need(t, os.WriteFile(a, []byte("x"), 0o644))
	need(t, os.WriteFile(b, []byte("y"), 0o644))
	when := time.Now().Add(-time.Hour).Truncate(time.Second)
	need(t, os.Chtimes(a, when, when))
	need(t, os.Chtimes(b, when, when))
	d, err := OpenDir(root)
	need(t, err)
	defer d.Close()
	after, err := d.Stat()
	need(t, err)
	if !Same(after, before) {
		t.Error("the directory is not the same once files were made in it")
	}
	fa, err := Lstat(a)
	need(t, err)
	fb, err := Lstat(b)
	need(t, err)
	if Same(fa, fb) {
		t.Error("two files of the same size and time are the same")
	}
	if f, _, err := d.OpenChecked("a", os.O_RDONLY, fa); err != nil {
		t.Errorf("OpenChecked of the file that was checked: %v", err)
	} else {
		f.Close()
	}
	// b takes a's name: the name no longer names what was checked.
	need(t, os.Remove(a))
	need(t, os.Rename(b, a))
	if f, _, err := d.OpenChecked("a", os.O_RDONLY, fa); !errors.Is(err, ErrChanged) {
		if f != nil {
			f.Close()
		}
		t.Errorf("OpenChecked of a name now naming another file: %v, want ErrChanged", err)
	}
	if err := d.Remove("a", fa); !errors.Is(err, ErrChanged) {
		t.Errorf("Remove of a name now naming another file: %v, want ErrChanged", err)
	}
	if _, err := os.Lstat(a); err != nil {
		t.Errorf("the other file is gone: %v", err)
	}
}

func need(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
