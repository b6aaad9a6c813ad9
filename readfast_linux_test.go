package durable

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/vfs"
)

// TestReadOSMatchesGeneral: readOS, the short way of readInto on Linux,
// answers exactly what the general way through vfs.OS answers (content,
// and the FileInfo's name, size, mode, time and stat), into buffers it
// reuses, for random contents and modes; and for whatever is no regular
// file it can read (missing, a link with O_NOFOLLOW, a FIFO, a directory)
// it leaves the answer to the general way.
func TestReadOSMatchesGeneral(t *testing.T) {
	dir := testdir.New(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var fastBuf, slowBuf []byte
	for i := range 300 {
		name := filepath.Join(dir, "f")
		size := []int{0, 1, 511, 512, 513, 4096, 100 << 10, rng.IntN(300 << 10)}[rng.IntN(8)]
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(name+".new", data, 0o600); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(rng.IntN(0o1000)) | 0o400
		for _, m := range []os.FileMode{os.ModeSetuid, os.ModeSetgid, os.ModeSticky} {
			if rng.IntN(4) == 0 {
				mode |= m
			}
		}
		if err := os.Chmod(name+".new", mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(name+".new", name); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(3) == 0 {
			// A buffer that held something else, of any capacity.
			fastBuf = append(make([]byte, 0, rng.IntN(200<<10)), "garbage"...)
		}
		flag := 0
		if rng.IntN(2) == 0 {
			flag = syscall.O_NOFOLLOW
		}
		var fi, sfi os.FileInfo
		var ok bool
		fastBuf, fi, ok = readOS(name, flag, fastBuf)
		if !ok {
			t.Fatalf("round %d: readOS refused a regular file of %d bytes, mode %v", i, size, mode)
		}
		var err error
		slowBuf, sfi, err = readGeneral(vfs.OS{}, name, flag, slowBuf)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fastBuf, slowBuf) || fastBuf == nil {
			t.Fatalf("round %d: readOS read %d bytes, the general way %d", i, len(fastBuf), len(slowBuf))
		}
		if fi.Name() != sfi.Name() || fi.Size() != sfi.Size() || fi.Mode() != sfi.Mode() ||
			!fi.ModTime().Equal(sfi.ModTime()) || fi.IsDir() != sfi.IsDir() ||
			!sameStatT(*fi.Sys().(*syscall.Stat_t), *sfi.Sys().(*syscall.Stat_t)) {
			t.Fatalf("round %d: readOS says %s %d %v %v, the general way %s %d %v %v", i,
				fi.Name(), fi.Size(), fi.Mode(), fi.ModTime(), sfi.Name(), sfi.Size(), sfi.Mode(), sfi.ModTime())
		}
		if !sameFile(fi, sfi) || !sameFile(sfi, fi) {
			t.Fatalf("round %d: sameFile says the two FileInfos of one file differ", i)
		}
		if other, err := os.Stat(dir); err != nil || sameFile(fi, other) {
			t.Fatalf("round %d: sameFile says a file is its directory (%v)", i, err)
		}
	}

	// Not for the short way: each leaves the answer to readGeneral.
	link := filepath.Join(dir, "link")
	if err := os.Symlink("f", link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		flag int
	}{
		{filepath.Join(dir, "missing"), 0},
		{link, syscall.O_NOFOLLOW},
		{fifo, 0},
		{dir, 0},
	} {
		buf := []byte("kept")
		got, fi, ok := readOS(c.name, c.flag, buf)
		if ok || fi != nil || len(got) != 0 {
			t.Errorf("readOS(%s) = %q, %v, %v: want it refused", c.name, got, fi, ok)
		}
		if _, _, err := readInto(vfs.OS{}, c.name, c.flag, nil); err == nil {
			t.Errorf("readInto(%s) read it", c.name)
		}
	}
}

// sameStatT compares two stats of one file but for the access time, which
// the first read (readOS's) may set.
func sameStatT(a, b syscall.Stat_t) bool {
	a.Atim, b.Atim = syscall.Timespec{}, syscall.Timespec{}
	return a == b
}
