package durable_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
)

// TestPendingContents: Contents reads back exactly what was written so far,
// from the start, without disturbing later writes, and refuses after the
// file is committed or discarded.
func TestPendingContents(t *testing.T) {
	name := filepath.Join(testdir.New(t), "f")
	os.WriteFile(name, []byte("old"), 0o600)
	p, err := durable.Create(name, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Cleanup()
	r, err := p.Contents()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r); len(b) != 0 {
		t.Errorf("Contents of nothing written: %q", b)
	}
	p.Write([]byte("hello "))
	r, err = p.Contents()
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("world"))
	if b, _ := io.ReadAll(r); string(b) != "hello " {
		t.Errorf("Contents taken before the second write reads %q", b)
	}
	r, _ = p.Contents()
	if b, _ := io.ReadAll(r); string(b) != "hello world" {
		t.Errorf("Contents reads %q", b)
	}
	// Reading did not move the write position.
	p.Write([]byte("!"))
	if b, _ := os.ReadFile(name); string(b) != "old" {
		t.Errorf("the target changed before Commit: %q", b)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name); string(b) != "hello world!" {
		t.Errorf("committed %q", b)
	}
	if _, err := p.Contents(); !errors.Is(err, durable.ErrClosed) {
		t.Errorf("Contents after Commit: %v, want ErrClosed", err)
	}
	q, err := durable.Create(name, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	q.Cleanup()
	if _, err := q.Contents(); !errors.Is(err, durable.ErrClosed) {
		t.Errorf("Contents after Cleanup: %v, want ErrClosed", err)
	}
}
