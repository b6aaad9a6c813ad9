package durable_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/vfs"
)

func ExampleWriteFile() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app", "config.json")

	// Missing directories are created (0700 for a 0600 file); the call
	// returns nil only once the content is on disk.
	if err := durable.WriteFile(path, []byte(`{"theme":"dark"}`), 0o600); err != nil {
		log.Fatal(err)
	}
	// Keep the previous version as config.json.bak.1.
	if err := durable.WriteFile(path, []byte(`{"theme":"light"}`), 0o600, durable.Backup()); err != nil {
		log.Fatal(err)
	}
	cur, _ := durable.ReadFile(path)
	bak, _ := durable.ReadFile(path + ".bak.1")
	fmt.Printf("%s\n%s\n", cur, bak)
	// Output:
	// {"theme":"light"}
	// {"theme":"dark"}
}

func ExampleCreate() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "export.csv")

	f, err := durable.Create(path, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Cleanup() // removes the temp file unless Commit succeeded
	for i := range 3 {
		fmt.Fprintf(f, "row,%d\n", i)
	}
	if err := f.Commit(); err != nil {
		log.Fatal(err)
	}
	data, _ := durable.ReadFile(path)
	fmt.Print(string(data))
	// Output:
	// row,0
	// row,1
	// row,2
}

func ExampleUpdate() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "state.json")

	type state struct{ Runs int }
	// Safe against other goroutines and processes doing the same: the
	// read, the change and the write happen under path's lock.
	for range 3 {
		err := durable.Update(path, func(old []byte) ([]byte, error) {
			var s state
			if old != nil {
				if err := json.Unmarshal(old, &s); err != nil {
					return nil, err
				}
			}
			s.Runs++
			return json.Marshal(s)
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	data, _ := durable.ReadFile(path)
	fmt.Println(string(data))
	// Output: {"Runs":3}
}

func ExampleIfRev() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "notes.txt")
	durable.WriteFile(path, []byte("draft 1"), 0o600)

	// An editor reads the file, the user takes a while...
	_, v, _ := durable.ReadRev(path)
	// ...meanwhile another process saves its own change.
	durable.WriteFile(path, []byte("draft 2, from elsewhere"), 0o600)

	err := durable.WriteFile(path, []byte("draft 1, edited"), 0o600, durable.IfRev(v))
	fmt.Println(errors.Is(err, durable.ErrConflict))
	data, _ := durable.ReadFile(path)
	fmt.Println(string(data))
	// Output:
	// true
	// draft 2, from elsewhere
}

// Crash-test code that writes through durable: crash the in-memory model
// after every step and look at what a power cut would leave.
func ExampleWithFS() {
	m := vfs.NewMem()
	vfs.WriteFile(m, "/config.json", []byte("old"), 0o600)
	m.SyncAll()

	seen := map[string]bool{}
	m.SetHook(func(vfs.Op, string) {
		for seed := range uint64(20) {
			data, _ := vfs.ReadFile(m.Crash(seed), "/config.json")
			seen[string(data)] = true
		}
	})
	if err := durable.WriteFile("/config.json", []byte("new"), 0o600, durable.WithFS(m)); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(seen), seen["old"], seen["new"])
	// Output: 2 true true
}
