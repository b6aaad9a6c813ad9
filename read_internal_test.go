package durable

import (
	"bytes"
	"io/fs"
	"testing"

	"github.com/durable-go/durable/vfs"
)

// shortFS hands out files that read at most 100 bytes at a time and whose
// Stat says size: a file that grew after Stat, on a filesystem whose reads
// come up short (FUSE, network filesystems, /proc).
type shortFS struct {
	vfs.FS
	size int64
}

func (s shortFS) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := s.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return shortFile{f, s.size}, nil
}

type shortFile struct {
	vfs.File
	size int64
}

func (f shortFile) Read(p []byte) (int, error) { return f.File.Read(p[:min(len(p), 100)]) }

func (f shortFile) Stat() (fs.FileInfo, error) {
	fi, err := f.File.Stat()
	return sizedInfo{fi, f.size}, err
}

type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (i sizedInfo) Size() int64 { return i.size }

// A read that comes up short ends the file only where Stat said it ends;
// elsewhere readInto reads on to the end.
func TestReadIntoPastShortReads(t *testing.T) {
	m := vfs.NewMem()
	want := bytes.Repeat([]byte("0123456789"), 100)
	if err := vfs.WriteFile(m, "/f", want, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{0, 150, 990, 1000, 4000} {
		got, _, err := readInto(shortFS{m, size}, "/f", 0, nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Stat size %d: read %d bytes, %v; want all %d", size, len(got), err, len(want))
		}
	}
}
