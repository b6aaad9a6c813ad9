package durable_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// On Windows, renaming over a file that another handle holds open fails
// with "Access is denied" unless that handle shares delete access. Our own
// readers share it; anyone else's reader is waited out for a bounded time.
func TestReplaceWhileReaderHoldsFile(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "held.json")
	if err := durable.WriteFile(name, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}

	if !testdir.UnderWine() {
		// Wine 8 implements neither POSIX-semantics rename nor replacing a
		// file held open with FILE_SHARE_DELETE, so this part needs Windows.
		ours, err := vfs.OS{}.OpenFile(name, os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := durable.WriteFile(name, []byte("new"), 0o600); err != nil {
			t.Fatalf("replace while our reader holds the file: %v", err)
		}
		buf := make([]byte, 8)
		n, _ := ours.Read(buf)
		ours.Close()
		if string(buf[:n]) != "old" {
			t.Fatalf("open reader saw %q, want the version it opened", buf[:n])
		}
	}

	theirs, err := os.Open(name) // no FILE_SHARE_DELETE
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		theirs.Close()
	}()
	if err := durable.WriteFile(name, []byte("newer"), 0o600); err != nil {
		t.Fatalf("replace while a foreign reader holds the file for 300ms: %v", err)
	}
	wantContent(t, name, "newer", "after the write")
	noTemps(t, dir)
}

// A write through an entry's 8.3 short name replaces the content and keeps
// the long name: the directory holds one entry, spelled as before.
func TestWriteThroughShortName(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "configuration.json")
	if err := durable.WriteFile(name, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, _ := windows.UTF16PtrFromString(name)
	buf := make([]uint16, 512)
	n, err := windows.GetShortPathName(p, &buf[0], uint32(len(buf)))
	if err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, filepath.Base(windows.UTF16ToString(buf[:n])))
	if strings.EqualFold(short, name) {
		t.Skip("no 8.3 names on this volume")
	}
	if err := durable.WriteFile(short, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(dir)
	if err != nil || len(es) != 1 || es[0].Name() != "configuration.json" {
		t.Fatalf("directory holds %v, %v; want configuration.json alone", es, err)
	}
	wantContent(t, name, "new", "after the write")
}

// A read-only target is replaced and stays read-only, with SkipUnchanged
// too: one that already holds the data and cannot be flushed in place
// (Windows flushes only handles open for writing) is replaced by a flushed
// copy rather than failing.
func TestReadOnlyTarget(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "ro.json")
	if err := durable.WriteFile(name, []byte("old"), 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(name, 0o644) })
	for _, tc := range []struct {
		data string
		opts []durable.Option
	}{
		{"new", nil},
		{"new", []durable.Option{durable.SkipUnchanged()}},
		{"newer", []durable.Option{durable.SkipUnchanged()}},
	} {
		if err := durable.WriteFile(name, []byte(tc.data), 0o644, tc.opts...); err != nil {
			t.Fatalf("write %q over a read-only file: %v", tc.data, err)
		}
		if got := testdir.ReadString(t, name); got != tc.data {
			t.Fatalf("content %q, want %q", got, tc.data)
		}
		if fi, err := os.Stat(name); err != nil || fi.Mode().Perm()&0o200 != 0 {
			t.Fatalf("mode %v, %v: the read-only attribute was lost", fi.Mode(), err)
		}
	}
	noTemps(t, dir)
}

// A directory in the target's place is refused at once, not retried as if
// another process held it.
func TestDirectoryTargetNotRetried(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "sub")
	if err := os.Mkdir(name, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := durable.WriteFile(name, []byte("x"), 0o644)
	if err == nil {
		t.Fatal("replaced a directory")
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("failed after %v: retried (%v)", took, err)
	}
	if fi, serr := os.Stat(name); serr != nil || !fi.IsDir() {
		t.Fatalf("directory gone: %v", serr)
	}
	noTemps(t, dir)
}

// A replace keeps the target's DACL, protected flag included: an
// administrator's tightened ACL survives every write.
func TestReplaceKeepsDACL(t *testing.T) {
	if testdir.UnderWine() {
		t.Skip("Wine does not keep file DACLs (it derives one from the Unix mode)")
	}
	dir := testdir.New(t)
	name := filepath.Join(dir, "token.json")
	if err := durable.WriteFile(name, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	// The user may do anything, the Users group only read.
	want := "D:P(A;;FA;;;" + u.User.Sid.String() + ")(A;;FR;;;BU)"
	sd, err := windows.SecurityDescriptorFromString(want)
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, _ := sd.DACL()
	if err := windows.SetNamedSecurityInfo(name, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
	if err := durable.WriteFile(name, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := windows.GetNamedSecurityInfo(name, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != want {
		t.Fatalf("DACL after the replace %s, want %s", got, want)
	}
	if testdir.ReadString(t, name) != "new" {
		t.Fatal("not replaced")
	}
}
