package vfs_test

import (
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/durable-go/durable/vfs"
)

// This example crash-tests a file replace: it crashes the model after every
// step of the operation, with many seeds, and collects what a reader could
// find afterwards. Without an fsync of the temp file before the rename, a
// power cut can leave the file empty, torn or full of zeros.
func ExampleNewMem() {
	// replace writes /config through a temp file renamed over it, then
	// syncs the directory; syncTemp says whether the temp file's data is
	// synced before the rename.
	replace := func(fsys vfs.FS, data string, syncTemp bool) error {
		f, err := fsys.OpenFile("/.config.tmp", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write([]byte(data)); err != nil {
			f.Close()
			return err
		}
		if syncTemp {
			if err := f.Sync(); err != nil {
				f.Close()
				return err
			}
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := fsys.Rename("/.config.tmp", "/config"); err != nil {
			return err
		}
		return fsys.SyncDir("/")
	}

	for _, syncTemp := range []bool{false, true} {
		m := vfs.NewMem()
		if err := vfs.WriteFile(m, "/config", []byte("v1"), 0o644); err != nil {
			panic(err)
		}
		m.SyncAll() // the starting point survives any crash

		found := map[string]bool{}
		m.SetHook(func(op vfs.Op, name string) {
			for seed := range uint64(50) {
				data, err := vfs.ReadFile(m.Crash(seed), "/config")
				if err != nil {
					panic(err)
				}
				found[string(data)] = true
			}
		})
		if err := replace(m, "v2", syncTemp); err != nil {
			panic(err)
		}
		fmt.Printf("sync temp file %v: %q\n", syncTemp, slices.Sorted(maps.Keys(found)))
	}
	// Output:
	// sync temp file false: ["" "\x00\x00" "v" "v1" "v2"]
	// sync temp file true: ["v1" "v2"]
}
