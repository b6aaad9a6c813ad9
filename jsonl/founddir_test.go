package jsonl_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"

	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/vfs"
)

// A transcript opened in a directory that another process made and never
// synced into its parent: an acknowledged line must survive a power cut
// with its directory.
func TestCrashFoundDirectory(t *testing.T) {
	m := vfs.NewMem()
	for _, d := range []string{"/sessions", "/sessions/today"} {
		if err := m.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	f, err := jsonl.Open("/sessions/today/t.jsonl", &jsonl.Options{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.AppendRaw(context.Background(), []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(20) {
		got, err := vfs.ReadFile(m.Crash(seed), "/sessions/today/t.jsonl")
		if errors.Is(err, fs.ErrNotExist) || string(got) != "{\"n\":1}\n" {
			t.Fatalf("seed %d: after a crash the transcript is %q (%v)", seed, got, err)
		}
	}
}
