//go:build unix

package lock

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// BenchmarkLockUnlock is a Lock and Unlock of an existing lock file, as
// every durable.Update does: open the sidecar, lock, unlock, close.
func BenchmarkLockUnlock(b *testing.B) {
	name := filepath.Join(b.TempDir(), "state.json")
	if err := os.WriteFile(name, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		l, err := Lock(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Unlock(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawLockUnlock is the syscall floor: open, flock, close.
func BenchmarkRawLockUnlock(b *testing.B) {
	name := filepath.Join(b.TempDir(), "state.json.lock")
	if err := os.WriteFile(name, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		fd, err := syscall.Open(name, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			b.Fatal(err)
		}
		syscall.Close(fd)
	}
}
