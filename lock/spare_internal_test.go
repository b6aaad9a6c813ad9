package lock

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// A Mutex whose lock another process holds waits on a descriptor of its
// own; once that wait's lock is released, the descriptor is kept for the
// next wait, which then opens (and checks) no sidecar: writers in several
// processes that take turns wait at every turn (issue 23). The lock it
// waits on must stay the same lock: held through the kept descriptor, it
// excludes other descriptors, and unlocked, it does not.
func TestMutexWaitReusesItsDescriptor(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "freebsd" && runtime.GOOS != "windows" {
		t.Skip("no file locks here")
	}
	name := filepath.Join(testdir.New(t), "f")
	m := New(vfs.OS{}, name)
	defer m.Close()
	// Another open file description stands in for another process: its
	// lock conflicts with every other description's, this process's too.
	other, err := os.OpenFile(name+Suffix, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// wait takes m's lock while other holds it, and returns the
	// descriptor the wait ended on.
	wait := func() (*Held, *os.File) {
		t.Helper()
		if err := (osLocker{}).tryLock(other, true); err != nil {
			t.Fatalf("other descriptor: %v", err)
		}
		got := make(chan *Held, 1)
		go func() {
			h, err := m.Lock(ctx)
			if err != nil {
				t.Error(err)
			}
			got <- h
		}()
		// Until other lets go, the Lock waits.
		select {
		case h := <-got:
			t.Fatalf("Lock returned %v while another description held the lock", h)
		case <-time.After(50 * time.Millisecond):
		}
		if err := (osLocker{}).unlock(other); err != nil {
			t.Fatal(err)
		}
		h := <-got
		if h == nil {
			t.FailNow()
		}
		return h, h.h.Load().f
	}

	h1, f1 := wait()
	if f1 == nil || f1 == m.f {
		t.Fatalf("the wait ended on %v, want a descriptor of its own (the Mutex's is %v)", f1, m.f)
	}
	if err := h1.Unlock(); err != nil {
		t.Fatal(err)
	}
	if m.spare != f1 {
		t.Fatalf("after Unlock the Mutex keeps %v for its next wait, want the waiter's descriptor %v", m.spare, f1)
	}
	// Unlocked, the kept descriptor holds nothing.
	if err := (osLocker{}).tryLock(other, true); err != nil {
		t.Fatalf("the kept descriptor still holds the lock: %v", err)
	}
	if err := (osLocker{}).unlock(other); err != nil {
		t.Fatal(err)
	}

	h2, f2 := wait()
	if f2 != f1 {
		t.Fatalf("the second wait ended on %v, want the kept descriptor %v", f2, f1)
	}
	if m.spare != nil {
		t.Fatalf("the kept descriptor is in use, yet the Mutex still keeps %v", m.spare)
	}
	// Held through the kept descriptor, the lock excludes the others.
	if err := (osLocker{}).tryLock(other, true); err == nil {
		t.Fatal("another description took the lock while the kept descriptor held it")
	}
	if err := h2.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if m.spare != nil {
		t.Fatal("Close left the kept descriptor open")
	}
	if err := f1.Close(); err == nil {
		t.Fatal("the kept descriptor was still open after Close")
	}
}
