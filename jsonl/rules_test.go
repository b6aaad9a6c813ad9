package jsonl_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/vfs"
)

// An append queued behind a slow fsync returns at its own deadline and is
// not written; the batch's other appends are (internal/group's rules).
func TestAppendHonoursItsOwnDeadline(t *testing.T) {
	ctx := context.Background()
	m := vfs.NewMem()
	f, err := jsonl.Open("/log", &jsonl.Options{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var armed atomic.Bool
	armed.Store(true)
	inSync, release := make(chan struct{}), make(chan struct{})
	m.SetHook(func(op vfs.Op, name string) {
		if op == vfs.OpSync && filepath.ToSlash(name) == "/log" && armed.CompareAndSwap(true, false) {
			close(inSync)
			<-release
		}
	})
	slow := make(chan error, 1)
	go func() { slow <- f.Append(ctx, "first") }()
	<-inSync
	other := make(chan error, 1)
	go func() { other <- f.Append(ctx, "kept") }()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := f.Append(short, "dropped"); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("append: %v after %v with a 200ms deadline", err, time.Since(start))
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	m.SetHook(nil)
	b, _ := vfs.ReadFile(m, "/log")
	if got := string(b); got != "\"first\"\n\"kept\"\n" {
		t.Fatalf("file %q", got)
	}
	if strings.Contains(string(b), "dropped") {
		t.Fatal("the append that gave up was written")
	}
}
