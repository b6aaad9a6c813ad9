//go:build !durable_mutate_skip_file_sync

package mutate

// SkipFileSync is off in every normal build.
const SkipFileSync = false
