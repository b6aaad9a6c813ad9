//go:build unix

package jsonl_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/durable-go/durable/jsonl"
)

// RepairFile repairs the file behind the descriptor it is given, whatever
// the name leads to by then: a caller that checked the file (fsck) acts on
// exactly that file.
func TestRepairFileActsOnTheDescriptor(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.jsonl")
	const torn = `{"a":1}` + "\n" + `{"b":`
	if err := os.WriteFile(p, []byte(torn), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_APPEND|syscall.O_NOFOLLOW, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The name now leads elsewhere: a file that must not be touched.
	other := filepath.Join(t.TempDir(), "other.jsonl")
	if err := os.WriteFile(other, []byte(torn), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, p+".checked"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, p); err != nil {
		t.Fatal(err)
	}
	rep, err := jsonl.RepairFile(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.CutBytes != 5 {
		t.Fatalf("cut %d bytes, want 5: %+v", rep.CutBytes, rep)
	}
	if b, _ := os.ReadFile(p + ".checked"); string(b) != `{"a":1}`+"\n" {
		t.Fatalf("the checked file holds %q", b)
	}
	if b, _ := os.ReadFile(other); string(b) != torn {
		t.Fatalf("the file the name leads to now was changed: %q", b)
	}
	if !strings.HasPrefix(rep.Evidence, p+jsonl.EvidenceInfix) || filepath.Dir(rep.Evidence) != dir {
		t.Fatalf("evidence %s, want it beside %s", rep.Evidence, p)
	}
}

// A FIFO planted at a JSON Lines file's name is refused, and never hangs
// Open or Repair.
func TestFIFOIsRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "app.jsonl")
	if err := syscall.Mkfifo(p, 0o666); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { _, err := jsonl.Repair(p, nil); done <- err }()
	go func() {
		f, err := jsonl.Open(p, nil)
		if err == nil {
			f.Close()
		}
		done <- err
	}()
	for range 2 {
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("err = %v, want a refusal of a file that is not a regular file", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("hung on a FIFO")
		}
	}
}
