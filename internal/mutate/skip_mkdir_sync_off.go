//go:build !durable_mutate_skip_mkdir_sync

package mutate

// SkipMkdirSync is off in every normal build.
const SkipMkdirSync = false
