package durable_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
)

// noTemps fails if dir holds anything that looks like a temp file.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
}

func TestWriteFileReplaces(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "config.json")
	for _, content := range []string{`{"v":1}`, `{"v":2,"longer":true}`, ``, `{}`} {
		if err := durable.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := testdir.ReadString(t, name); got != content {
			t.Fatalf("content = %q, want %q", got, content)
		}
		got, err := durable.ReadFile(name)
		if err != nil || string(got) != content {
			t.Fatalf("ReadFile = %q, %v", got, err)
		}
	}
	noTemps(t, dir)
}

func TestSymlinkFollowedAndKept(t *testing.T) {
	dir := testdir.New(t)
	real := filepath.Join(dir, "real.json")
	link := filepath.Join(dir, "link.json")
	os.WriteFile(real, []byte("old"), 0o600)
	if err := os.Symlink("real.json", link); err != nil {
		t.Skipf("cannot create symlinks here: %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Skip("symbolic links read back as regular files here (Wine 8 does this)")
	}
	if err := durable.WriteFile(link, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("link was replaced by a regular file: %v %v", fi.Mode(), err)
	}
	wantContent(t, real, "new", "the link's target")

	err := durable.WriteFile(link, []byte("refused"), 0o600, durable.NoFollow())
	if !errors.Is(err, durable.ErrSymlink) {
		t.Fatalf("NoFollow: err = %v, want ErrSymlink", err)
	}
	wantContent(t, real, "new", "NoFollow changed the target")

	// A dangling link creates its target, as os.WriteFile would.
	dangling := filepath.Join(dir, "dangling")
	os.Symlink("made.json", dangling)
	if err := durable.WriteFile(dangling, []byte("made"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantContent(t, filepath.Join(dir, "made.json"), "made", "the dangling link's target")
	noTemps(t, dir)
}

func TestNoClobber(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "once")
	if err := durable.WriteFile(name, []byte("first"), 0o600, durable.NoClobber()); err != nil {
		t.Fatal(err)
	}
	err := durable.WriteFile(name, []byte("second"), 0o600, durable.NoClobber())
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want fs.ErrExist", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != name {
		t.Fatalf("error does not carry the path: %v", err)
	}
	wantContent(t, name, "first", "after the refused write")
	// The check also holds when the file appears after Create began.
	late := filepath.Join(dir, "late")
	f, err := durable.Create(late, 0o600, durable.NoClobber())
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("mine"))
	os.WriteFile(late, []byte("theirs"), 0o600)
	if err := f.Commit(); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("late Commit err = %v, want fs.ErrExist", err)
	}
	wantContent(t, late, "theirs", "after the late conflict")
	noTemps(t, dir)
}

func TestBackup(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "settings.json")
	if err := durable.WriteFile(name, []byte("v1"), 0o600, durable.Backup()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name + ".bak.1"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a new file has no previous version, yet .bak: %v", err)
	}
	for _, v := range []string{"v2", "v3"} {
		if err := durable.WriteFile(name, []byte(v), 0o600, durable.Backup()); err != nil {
			t.Fatal(err)
		}
	}
	if got, bak := testdir.ReadString(t, name), testdir.ReadString(t, name+".bak.1"); got != "v3" || bak != "v2" {
		t.Fatalf("file %q backup %q, want v3 and v2", got, bak)
	}
	noTemps(t, dir)
}

func TestSkipUnchanged(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "same")
	durable.WriteFile(name, []byte("same"), 0o600)
	before, _ := os.Stat(name)
	if err := durable.WriteFile(name, []byte("same"), 0o600, durable.SkipUnchanged()); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(name)
	if !os.SameFile(before, after) {
		t.Fatal("unchanged content was rewritten (new inode)")
	}
	if err := durable.WriteFile(name, []byte("diff"), 0o600, durable.SkipUnchanged()); err != nil {
		t.Fatal(err)
	}
	wantContent(t, name, "diff", "changed content skipped")
	noTemps(t, dir)
}

func TestVerifyRefusal(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "checked")
	durable.WriteFile(name, []byte("good"), 0o600)
	bad := errors.New("does not decode")
	var seen []byte
	err := durable.WriteFile(name, []byte("bad!"), 0o600, durable.Verify(func(b []byte) error {
		seen = slices.Clone(b)
		return bad
	}))
	if !errors.Is(err, durable.ErrVerify) || !errors.Is(err, bad) {
		t.Fatalf("err = %v, want ErrVerify wrapping the callback's error", err)
	}
	if string(seen) != "bad!" {
		t.Fatalf("Verify saw %q, want the bytes read back from the temp file", seen)
	}
	wantContent(t, name, "good", "refused content was published")
	noTemps(t, dir)
}

func TestCreateCommitCleanup(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "stream.csv")
	os.WriteFile(name, []byte("old"), 0o644)

	// Close without Commit publishes nothing: the commit-on-Close trap.
	f, err := durable.Create(name, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half-writ"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	wantContent(t, name, "old", "Close published")
	noTemps(t, dir)

	f, err = durable.Create(name, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Cleanup()
	for i := range 1000 {
		fmt.Fprintf(f, "row,%d\n", i)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := testdir.ReadString(t, name); !strings.HasPrefix(got, "row,0\n") || !strings.HasSuffix(got, "row,999\n") {
		t.Fatalf("committed content wrong: %d bytes", len(got))
	}
	if err := f.Cleanup(); err != nil {
		t.Fatalf("Cleanup after Commit: %v", err)
	}
	if _, err := f.Write([]byte("x")); !errors.Is(err, durable.ErrClosed) {
		t.Fatalf("Write after Commit: %v, want ErrClosed", err)
	}
	if err := f.Commit(); !errors.Is(err, durable.ErrClosed) {
		t.Fatalf("second Commit: %v, want ErrClosed", err)
	}
	noTemps(t, dir)
}

func TestNotARegularFile(t *testing.T) {
	dir := testdir.New(t)
	err := durable.WriteFile(dir, []byte("x"), 0o600)
	if err == nil {
		t.Fatal("replacing a directory succeeded")
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != dir {
		t.Fatalf("error %v does not name the path", err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatal("directory was harmed")
	}
}

func TestParentIsAFile(t *testing.T) {
	dir := testdir.New(t)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	err := durable.WriteFile(filepath.Join(file, "child"), []byte("y"), 0o600)
	if err == nil {
		t.Fatal("wrote below a regular file")
	}
	wantContent(t, file, "x", "file changed")
}

func TestCleanTempRemovesOnlyOurs(t *testing.T) {
	dir := testdir.New(t)
	ours := []string{".config.json.abcdefghij23.tmp", ".a.bak.zzzzzzzzzzzz.tmp"}
	theirs := []string{"config.json", ".config.json.tmp", ".x.ABCDEFGHIJKL.tmp", ".x.abcdefghij1.tmp", "x.abcdefghij23.tmp", ".vimrc"}
	old := time.Now().Add(-time.Hour)
	for _, n := range append(slices.Clone(ours), theirs...) {
		p := filepath.Join(dir, n)
		os.WriteFile(p, []byte("x"), 0o600)
		os.Chtimes(p, old, old)
	}
	fresh := filepath.Join(dir, ".busy.qqqqqqqqqqqq.tmp")
	os.WriteFile(fresh, []byte("being written"), 0o600)
	os.Mkdir(filepath.Join(dir, ".dir.abcdefghijkl.tmp"), 0o700)

	removed, err := durable.CleanTemp(dir, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range removed {
		got = append(got, filepath.Base(r))
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(ours))
	if !slices.Equal(got, want) {
		t.Fatalf("removed %v, want %v", got, want)
	}
	for _, n := range append(theirs, filepath.Base(fresh), ".dir.abcdefghijkl.tmp") {
		if _, err := os.Lstat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s was removed: %v", n, err)
		}
	}
}

// Concurrent writers of one file: every call returns only once a version
// that is its own or a later caller's is on disk, and the file is always one
// complete version.
func TestConcurrentWritersOneFile(t *testing.T) {
	skipReadersStarveRenameUnderWine(t)
	dir := testdir.New(t)
	name := filepath.Join(dir, "shared.json")
	durable.WriteFile(name, []byte("start"), 0o600)
	var bad sync.Map
	stopReader := testdir.Repeat(func() bool {
		b, err := durable.ReadFile(name)
		if err != nil || !(string(b) == "start" || bytes.HasPrefix(b, []byte("writer-")) && bytes.HasSuffix(b, []byte("-end"))) {
			bad.Store(string(b), err)
		}
		return true
	})
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 20 {
				v := fmt.Sprintf("writer-%d-%d-%s-end", g, i, strings.Repeat("x", 100*g))
				if err := durable.WriteFile(name, []byte(v), 0o600); err != nil {
					t.Error(err)
					return
				}
				// The caller's own write, or a later one, must be visible.
				b, _ := durable.ReadFile(name)
				if string(b) == "start" {
					t.Errorf("WriteFile returned but the file is still the initial version")
				}
			}
		})
	}
	wg.Wait()
	stopReader()
	bad.Range(func(k, v any) bool {
		t.Errorf("reader saw an incomplete version %.40q (err %v)", k, v)
		return true
	})
	// A last, sequential write must win outright.
	durable.WriteFile(name, []byte("final"), 0o600)
	wantContent(t, name, "final", "at the end")
	noTemps(t, dir)
}

// skipReadersStarveRenameUnderWine skips tests whose readers hold the file
// open all the time: Wine 8 cannot rename over a file held open even with
// FILE_SHARE_DELETE (Windows 10 can, with a POSIX-semantics rename).
func skipReadersStarveRenameUnderWine(t *testing.T) {
	if testdir.UnderWine() {
		t.Skip("Wine 8 cannot rename over a file that readers hold open with FILE_SHARE_DELETE")
	}
}

// wantContent fails the test unless the file name holds want; when says
// at which step of the test.
func wantContent(t *testing.T, name, want, when string) {
	t.Helper()
	if got := testdir.ReadString(t, name); got != want {
		t.Fatalf("%s: %s holds %q, want %q", when, name, got, want)
	}
}
