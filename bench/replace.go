package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/durable-go/durable"
	"github.com/natefinch/atomic"
)

// replaceWorkload is workload 1: replace one existing file of size bytes
// with new content, atomically, from one goroutine.
func replaceWorkload(size int, budget time.Duration, probe bool) Workload {
	return Workload{
		ID:         "replace-" + sizeID(size),
		Family:     "replace",
		Title:      "Atomic replace of a " + sizeName(size) + " file",
		What:       "one call that replaces an existing " + sizeName(size) + " file with new content",
		Writers:    1,
		Budget:     budget,
		Probe:      probe,
		Contenders: replaceContenders(size),
	}
}

func replaceContenders(size int) []Contender {
	cs := []Contender{
		{
			ID: "durable", Name: "durable.WriteFile",
			Claim: Claim{
				Level:  Durable,
				File:   "fsync of the temp file before the rename",
				Dir:    "fsync of the directory after the rename",
				Source: "write.go in this tree",
			},
			Open: replacer(size, func() func(string, []byte) error {
				return func(path string, data []byte) error { return durable.WriteFile(path, data, 0o644) }
			}),
		},
		{
			ID: "raw", Name: "raw syscall sequence", Floor: true,
			Claim: Claim{
				Level:  Durable,
				File:   "fsync of the temp file before the rename",
				Dir:    "fsync of the directory after the rename",
				Source: "internal/bench/raw.go (RawReplace)",
			},
			Open: replacer(size, rawReplacer),
		},
		{
			ID: "natefinch", Name: "natefinch/atomic",
			Claim: Claim{
				Level:  NotDurable,
				Short:  "no directory fsync",
				File:   "fsync of the temp file before the rename",
				Dir:    "none: ReplaceFile is os.Rename on Unix",
				Source: "atomic.go (WriteFile), file_unix.go (ReplaceFile)",
			},
			Open: replacer(size, func() func(string, []byte) error {
				return func(path string, data []byte) error { return atomic.WriteFile(path, bytes.NewReader(data)) }
			}),
		},
		{
			ID: "os", Name: "os.WriteFile",
			Claim: Claim{
				Level:  NotDurable,
				Short:  "no fsync, not atomic",
				File:   "none, and it truncates the file in place: a crash can leave it empty or torn",
				Dir:    "none",
				Source: "os/file.go (WriteFile: OpenFile O_TRUNC, Write, Close)",
			},
			Open: replacer(size, func() func(string, []byte) error {
				return func(path string, data []byte) error { return os.WriteFile(path, data, 0o644) }
			}),
		},
	}
	if c, ok := renameioContender(size); ok {
		cs = append(cs[:2], append([]Contender{c}, cs[2:]...)...)
	}
	return cs
}

// replacer opens a contender that replaces dir/target with size bytes on
// every call. newWrite is called once per opened instance, so a writer with
// state (the raw sequence's temp counter) gets its own.
func replacer(size int, newWrite func() func(path string, data []byte) error) func(string, int) (Instance, error) {
	return func(dir string, writers int) (Instance, error) {
		if writers != 1 {
			return nil, errors.New("replace is measured with one writer")
		}
		write := newWrite()
		path := filepath.Join(dir, "target")
		data := payload(size) // at least 8 bytes: the sequence number goes first
		// Every call replaces an existing file, the common case (and
		// the one where an old version can come back after a crash).
		if err := write(path, data); err != nil {
			return nil, err
		}
		var seq uint64
		return funcs{op: func(int) error {
			// New content every time: durable skips a write whose
			// content is already on disk.
			seq++
			binary.LittleEndian.PutUint64(data, seq)
			return write(path, data)
		}}, nil
	}
}

// sizeName formats a byte count the way the tables show it.
func sizeName(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// sizeID is sizeName for file names: "4k", "256b".
func sizeID(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%dk", n>>10)
	}
	return fmt.Sprintf("%db", n)
}
