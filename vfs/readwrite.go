package vfs

import (
	"io"
	"io/fs"
	"os"
)

// ReadFile reads the whole named file from fsys.
func ReadFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return data, err
}

// WriteFile writes data to the named file in fsys, creating it with perm
// (before the umask) or truncating it, like os.WriteFile.
//
// It is NOT durable and NOT atomic: it neither syncs the file nor its
// directory, and a crash or error midway leaves a truncated file. It exists
// to set up test fixtures (follow it with MemFS.SyncAll to make them
// durable); code that must keep data safe uses the durable package.
func WriteFile(fsys FS, name string, data []byte, perm fs.FileMode) error {
	f, err := fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	n, err := f.Write(data)
	if err == nil && n < len(data) {
		err = &fs.PathError{Op: "write", Path: name, Err: io.ErrShortWrite}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
