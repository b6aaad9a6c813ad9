//go:build durable_mutate_skip_file_sync

package mutate

// SkipFileSync is on: this build is broken on purpose.
const SkipFileSync = true
