package lock_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/durable-go/durable/lock"
)

func ExampleLock() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "config.json")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := lock.Lock(ctx, name)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Unlock()

	// Read config.json, change it and replace it atomically here. Readers
	// take no lock: they see the old file or the new one, never a mix.
	_, err = os.Stat(name + ".lock")
	fmt.Println("sidecar exists:", err == nil)
	// Output: sidecar exists: true
}

func ExampleTryLock() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "queue.db")

	holder, err := lock.TryLock(name)
	if err != nil {
		panic(err)
	}

	_, err = lock.TryLock(name)
	if errors.Is(err, lock.ErrLocked) {
		fmt.Println("busy, try later")
	}

	holder.Unlock()
	l, err := lock.TryLock(name)
	if err != nil {
		panic(err)
	}
	fmt.Println("got it")
	l.Unlock()
	// Output:
	// busy, try later
	// got it
}
