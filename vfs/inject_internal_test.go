package vfs

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"testing"
)

// A failed Close still closes the file underneath, as close(2) releases the
// descriptor even when it reports an error.
func TestInjectCloseReleasesFile(t *testing.T) {
	inj := Inject(NewMem(), Fault{Ops: OpClose, N: 1})
	f, err := inj.OpenFile("/a", os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Close = %v, want EIO", err)
	}
	if _, err := f.(*injFile).f.Write([]byte("x")); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("the underlying file is still open: %v", err)
	}
}
