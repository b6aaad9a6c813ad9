package lock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/durable-go/durable/internal/testdir"
)

// holdUnshared opens path as antivirus, backup and sync tools may: without
// sharing any access, so that every other open fails with a sharing
// violation until it is closed.
func holdUnshared(t *testing.T, path string) windows.Handle {
	t.Helper()
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ, 0, nil, windows.OPEN_ALWAYS, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A sidecar held open without sharing makes the lock busy, not broken:
// Lock and RLock wait for the holder to let go, a wait that runs out says
// ErrLocked, and TryLock says ErrLocked at once.
func TestSidecarHeldWithoutSharingIsBusy(t *testing.T) {
	dir := testdir.New(t)
	for _, exclusive := range []bool{true, false} {
		name := filepath.Join(dir, "data")
		if !exclusive {
			name = filepath.Join(dir, "shared")
		}
		h := holdUnshared(t, name+Suffix)

		if _, err := try("trylock", name, exclusive); !errors.Is(err, ErrLocked) {
			t.Fatalf("exclusive %v: TryLock on a held sidecar: %v, want ErrLocked", exclusive, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := acquire(ctx, "lock", name, exclusive, DefaultTimeout)
		cancel()
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("exclusive %v: a wait that ran out: %v, want ErrLocked", exclusive, err)
		}

		go func() {
			time.Sleep(200 * time.Millisecond)
			windows.CloseHandle(h)
		}()
		start := time.Now()
		l, err := acquire(context.Background(), "lock", name, exclusive, 5*time.Second)
		if err != nil {
			t.Fatalf("exclusive %v: holder let go after 200ms: %v", exclusive, err)
		}
		if took := time.Since(start); took < 150*time.Millisecond {
			t.Fatalf("exclusive %v: locked after %v while the sidecar was held", exclusive, took)
		}
		l.Unlock()
	}
}

// RLock needs only read access: a read-only sidecar (as a reader of a file
// it may not write gets one) is shared-locked, not refused.
func TestRLockReadOnlySidecar(t *testing.T) {
	dir := testdir.New(t)
	name := filepath.Join(dir, "data")
	if err := os.WriteFile(name+Suffix, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(name+Suffix, 0o644) })
	l, err := RLock(context.Background(), name)
	if err != nil {
		t.Fatalf("RLock of a read-only sidecar: %v", err)
	}
	l.Unlock()
}
