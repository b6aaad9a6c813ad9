//go:build !durable_mutate_store_skip_rotate_dirsync

package mutate

// StoreSkipRotateDirSync is off in every normal build. With the build tag
// durable_mutate_store_skip_rotate_dirsync it is on: the store rotates its
// backups without a directory fsync before publishing the new version.
const StoreSkipRotateDirSync = false
