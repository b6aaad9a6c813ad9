package journal

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/vfs"
)

// The rules of the concurrency layer (internal/group), through Journal.

// blockWithLock starts a WithLock that holds the journal until release.
func blockWithLock(t *testing.T, j *Journal) (release func(), done <-chan error) {
	in, out := make(chan struct{}), make(chan struct{})
	ch := make(chan error, 1)
	go func() {
		ch <- j.WithLock(context.Background(), func(tx *Tx) error {
			close(in)
			<-out
			return nil
		})
	}()
	<-in
	return func() { close(out) }, ch
}

func TestWithLockReentryIsRefused(t *testing.T) {
	j := mustOpen(t, "/j", &Options{FS: vfs.NewMem()})
	defer j.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var inner, inner2 error
	start := time.Now()
	err := j.WithLock(ctx, func(tx *Tx) error {
		_, inner = j.Append(ctx, []byte("inner"))
		_, inner2 = j.Update(ctx, func(uint64) ([][]byte, error) { return nil, nil })
		_, err := tx.AppendFlushed([][]byte{[]byte("outer")})
		return err
	})
	if err != nil || !errors.Is(inner, durable.ErrReentrant) || !errors.Is(inner2, durable.ErrReentrant) || time.Since(start) > 8*time.Second {
		t.Fatalf("outer %v, inner %v and %v, after %v", err, inner, inner2, time.Since(start))
	}
	if j.Size() != 1 {
		t.Fatalf("size %d", j.Size())
	}
}

func TestWithLockPanicIsRaisedInItsCaller(t *testing.T) {
	j := mustOpen(t, "/j", &Options{FS: vfs.NewMem()})
	defer j.Close()
	func() {
		defer func() {
			if p := recover(); p != "transact" {
				t.Fatalf("recovered %v", p)
			}
		}()
		j.WithLock(context.Background(), func(tx *Tx) error { panic("transact") })
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := j.Append(ctx, []byte("after")); err != nil {
		t.Fatalf("append after the panic: %v", err)
	}
}

// An append queued behind a slow WithLock returns at its own deadline,
// and is not written; the others of its batch are.
func TestAppendHonoursItsOwnDeadline(t *testing.T) {
	j := mustOpen(t, "/j", &Options{FS: vfs.NewMem()})
	defer j.Close()
	release, first := blockWithLock(t, j)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	other := make(chan error, 1)
	go func() { _, err := j.Append(context.Background(), []byte("kept")); other <- err }()
	start := time.Now()
	_, err := j.Append(ctx, []byte("dropped"))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v after %v with a 200ms deadline", err, time.Since(start))
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-other; err != nil {
		t.Fatalf("the other append: %v", err)
	}
	var got []string
	for r, err := range j.Scan(0) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Type == TypeData {
			got = append(got, string(r.Payload))
		}
	}
	if len(got) != 1 || got[0] != "kept" {
		t.Fatalf("records %q", got)
	}
}
