//go:build unix

package durable

import "syscall"

// openNoFollow makes an open fail where the name is a symbolic link.
const openNoFollow = syscall.O_NOFOLLOW

// openNonBlock makes an open return at once where someone planted a FIFO
// at the name, instead of waiting for a writer that never comes; vfs.OS
// puts a regular file back into blocking mode, and the read then refuses
// anything that is not a regular file.
const openNonBlock = syscall.O_NONBLOCK
