//go:build unix

package oauth

import "syscall"

// openNoFollow opens the file narrow checked, never a symbolic link put
// in its place, and never waits on a FIFO put there.
const openNoFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
