//go:build !durable_mutate_skip_dir_sync

package mutate

// SkipDirSync is off in every normal build.
const SkipDirSync = false
