//go:build unix

package durable

import "syscall"

// openNoFollow makes an open fail where the name is a symbolic link.
const openNoFollow = syscall.O_NOFOLLOW
