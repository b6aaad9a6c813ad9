//go:build !unix

package durable

// openNoFollow is 0 where open has no such flag: Updater then looks at the
// name (Lstat) before each update.
const openNoFollow = 0

// openNonBlock is 0 where the filesystem has no FIFOs (Windows).
const openNonBlock = 0
