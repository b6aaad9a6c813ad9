//go:build unix

package jsonl_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/jsonl"
)

// A JSON Lines file is appended to and repaired in place, so a name with
// other hard links (one planted where the file was to be made, leading to
// someone else's file) is refused: nothing is appended or cut there.
func TestHardLinkedFileIsRefused(t *testing.T) {
	dir := testdir.New(t)
	outside := filepath.Join(dir, "outside.jsonl")
	content := "{\"a\":1}\n{\"b\":" // torn: a repair would cut it
	if err := os.WriteFile(outside, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "log.jsonl")
	if err := os.Link(outside, name); err != nil {
		t.Fatal(err)
	}
	if f, err := jsonl.Open(name, nil); !errors.Is(err, durable.ErrHardLinked) {
		if err == nil {
			f.Close()
		}
		t.Fatalf("Open of a hard-linked file: %v, want ErrHardLinked", err)
	}
	if _, err := jsonl.Repair(name, nil); !errors.Is(err, durable.ErrHardLinked) {
		t.Fatalf("Repair of a hard-linked file: %v, want ErrHardLinked", err)
	}
	if got, _ := os.ReadFile(outside); string(got) != content {
		t.Fatalf("the other name changed: %q", got)
	}
	// With its other name gone it is an ordinary file again.
	if err := os.Remove(outside); err != nil {
		t.Fatal(err)
	}
	f, err := jsonl.Open(name, &jsonl.Options{AllowCorrupt: true})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
