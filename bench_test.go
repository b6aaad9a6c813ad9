package durable_test

import (
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/bench"
)

// Each benchmark pair runs WriteFile and the raw syscall sequence it is
// built from (open temp, write, fsync, close, rename, fsync dir) on the same
// data; compare them with benchstat, or run `durable bench write`, which
// interleaves the two in one run and prints the ratios.

var benchSizes = []int{256, 4 << 10, 64 << 10, 1 << 20}

func BenchmarkWriteFile(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(bench.Size(size), func(b *testing.B) {
			dir := b.TempDir()
			name := filepath.Join(dir, "f")
			data := make([]byte, size)
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := durable.WriteFile(name, data, 0o644); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRawReplace(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(bench.Size(size), func(b *testing.B) {
			dir := b.TempDir()
			data := make([]byte, size)
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := bench.RawReplace(dir, "f", data, "f.tmp"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// 16 goroutines, each replacing its own file in one directory: the
// directory fsync is shared.
func BenchmarkWriteFile16Files(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 4<<10)
	sixteenWriters(b, func(g string) error {
		return durable.WriteFile(filepath.Join(dir, "f"+g), data, 0o644)
	})
}

func BenchmarkRawReplace16Files(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 4<<10)
	sixteenWriters(b, func(g string) error {
		return bench.RawReplace(dir, "f"+g, data, "f"+g+".tmp")
	})
}

// 16 goroutines replacing one file: coalesced into one replace per batch.
func BenchmarkWriteFile16Same(b *testing.B) {
	dir := b.TempDir()
	name := filepath.Join(dir, "same")
	data := make([]byte, 4<<10)
	sixteenWriters(b, func(string) error {
		return durable.WriteFile(name, data, 0o644)
	})
}

func BenchmarkRawReplace16Same(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 4<<10)
	sixteenWriters(b, func(g string) error {
		return bench.RawReplace(dir, "same", data, "same"+g+".tmp")
	})
}

// sixteenWriters runs write in 16 goroutines until they have done b.N
// writes between them; g numbers the goroutine, for names of its own.
func sixteenWriters(b *testing.B, write func(g string) error) {
	var id atomic.Int32
	b.SetParallelism(sixteen())
	b.RunParallel(func(pb *testing.PB) {
		g := strconv.Itoa(int(id.Add(1)))
		for pb.Next() {
			if err := write(g); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sixteen is the RunParallel parallelism that gives 16 goroutines.
func sixteen() int { return max(1, 16/runtime.GOMAXPROCS(0)) }

// A new file in an existing directory: after the first, the walk up the
// path that makes found directories durable is remembered, and costs a
// stat of each directory on the path rather than an fsync.
func BenchmarkWriteFileNewFile(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 4<<10)
	i := 0
	for b.Loop() {
		i++
		if err := durable.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawReplaceNewFile(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 4<<10)
	i := 0
	for b.Loop() {
		i++
		if err := bench.RawReplace(dir, "f"+strconv.Itoa(i), data, "f.tmp"); err != nil {
			b.Fatal(err)
		}
	}
}
