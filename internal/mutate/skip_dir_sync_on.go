//go:build durable_mutate_skip_dir_sync

package mutate

// SkipDirSync is on: this build is broken on purpose.
const SkipDirSync = true
