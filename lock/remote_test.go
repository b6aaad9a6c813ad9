package lock

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
)

type fakeRemote struct {
	once     sync.Once
	lost     chan struct{}
	released int
}

func (r *fakeRemote) Release() error {
	r.released++
	select {
	case <-r.lost:
		return ErrLost
	default:
		return nil
	}
}

func (r *fakeRemote) Check(ctx context.Context) error {
	select {
	case <-r.lost:
		return ErrLost
	default:
		return ctx.Err()
	}
}

func (r *fakeRemote) Lost() <-chan struct{} { return r.lost }

func TestAdoptedLockTellsItsHolderWhenLost(t *testing.T) {
	r := &fakeRemote{lost: make(chan struct{})}
	l := Adopt("pg:demo", r)
	if err := l.Check(context.Background()); err != nil {
		t.Fatalf("Check of a held lock: %v", err)
	}
	select {
	case <-l.Lost():
		t.Fatal("Lost fired while held")
	default:
	}
	ran := false
	l.Do(func() { ran = true })
	if !ran {
		t.Fatal("Do did not run")
	}
	r.once.Do(func() { close(r.lost) })
	<-l.Lost()
	if err := l.Check(context.Background()); !errors.Is(err, ErrLost) {
		t.Fatalf("Check after loss: %v", err)
	}
	if err := l.Unlock(); !errors.Is(err, ErrLost) || r.released != 1 {
		t.Fatalf("Unlock after loss: %v (released %d)", err, r.released)
	}
	if err := l.Unlock(); !errors.Is(err, ErrClosed) || r.released != 1 {
		t.Fatalf("second Unlock: %v", err)
	}
	if err := l.Check(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Check after Unlock: %v", err)
	}
}

func TestFileLockIsNeverLost(t *testing.T) {
	l, err := Lock(context.Background(), testdir.New(t)+"/f")
	if err != nil {
		t.Fatal(err)
	}
	if l.Lost() != nil || l.Check(context.Background()) != nil {
		t.Fatal("a file lock reported itself lost")
	}
	l.Unlock()
}
