package durable_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

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
	if got := readString(t, name); got != "newer" {
		t.Fatalf("content %q", got)
	}
	noTemps(t, dir)
}
