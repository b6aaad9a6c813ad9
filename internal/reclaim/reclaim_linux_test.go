package reclaim

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// deletedHeld reports whether this process holds a descriptor of a file
// whose last name is gone (the kernel shows it as "name (deleted)").
func deletedHeld(t *testing.T, name string) bool {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && l == name+" (deleted)" {
			return true
		}
	}
	return false
}

// A held file outlives its last name until Release, which frees it.
func TestHoldKeepsTheFileUntilRelease(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "old")
	if err := os.WriteFile(name, []byte(strings.Repeat("x", 1<<20)), 0o600); err != nil {
		t.Fatal(err)
	}
	h := Hold(vfs.OS{}, name)
	if h == nil {
		t.Fatal("Hold of a regular file on the OS returned nil")
	}
	if err := os.WriteFile(name+".new", []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(name+".new", name); err != nil {
		t.Fatal(err)
	}
	if !deletedHeld(t, name) {
		t.Fatal("the replaced file is not held after the rename")
	}
	h.Release()
	if deletedHeld(t, name) {
		t.Fatal("the replaced file is still held after Release")
	}
	if b, err := os.ReadFile(name); err != nil || string(b) != "new" {
		t.Fatalf("the name now holds %q, %v; want the new file", b, err)
	}
}

// What someone put at the name is held without being opened: a FIFO
// with no writer does not block, a symbolic link is not followed; a
// missing name or another filesystem holds nothing.
func TestHoldOpensNothing(t *testing.T) {
	dir := testdir.New(t)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	h := Hold(vfs.OS{}, fifo) // would block forever if it opened the FIFO
	if h == nil {
		t.Fatal("Hold of a FIFO returned nil")
	}
	h.Release()
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), link); err != nil {
		t.Fatal(err)
	}
	h = Hold(vfs.OS{}, link) // its target does not exist: only the link can be held
	if h == nil {
		t.Fatal("Hold of a dangling symbolic link returned nil: it followed the link")
	}
	h.Release()
	if h := Hold(vfs.OS{}, filepath.Join(dir, "missing")); h != nil {
		t.Error("Hold of a missing name returned a Held")
	}
	m := vfs.NewMem()
	if err := vfs.WriteFile(m, "/f", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if h := Hold(m, "/f"); h != nil {
		t.Error("Hold on a MemFS returned a Held")
	}
	var nilHeld *Held
	nilHeld.Release()
}
