//go:build durable_mutate_store_skip_rotate_dirsync

package mutate

// StoreSkipRotateDirSync is on: this build is broken on purpose (the store
// rotates its backups without a directory fsync before publishing the new
// version; only the "POSIX" directory profile can tell).
const StoreSkipRotateDirSync = true
