// Package reclaim takes the freeing of a file's blocks off the path of the
// call that drops the file's last name.
//
// When a rename (or unlink) removes the last name of a file nobody has
// open, the kernel frees the file's blocks inside that system call: for a
// large file on a filesystem mounted with online discard, the call then
// waits for the device to discard every extent, which can cost as much as
// writing the file did. Package store drops its oldest backup that way on
// every update. Holding the file open across the rename leaves the kernel
// nothing to free there; the blocks go when the holder is closed, which
// the store does in the background once the update has returned.
//
// Nothing here bears on durability: the file dropped has no name left, and
// a crash before the close leaves an orphan that the filesystem's own
// recovery frees, as it does for any file that was open when it was
// unlinked.
package reclaim

import "github.com/durable-go/durable/vfs"

// Hold keeps the file named name from being freed when its last name goes,
// until Release. It returns nil when it cannot (no file there, another
// filesystem than the OS's, a platform without a way to hold a file
// without opening it for reading): then nothing changes.
func Hold(fsys vfs.FS, name string) *Held {
	if _, ok := fsys.(vfs.OS); !ok {
		return nil
	}
	return hold(name)
}

// Release lets the held file go, freeing it if it has no name left. It
// may take as long as the free does. It is safe on a nil *Held.
func (h *Held) Release() {
	if h != nil {
		h.release()
	}
}
