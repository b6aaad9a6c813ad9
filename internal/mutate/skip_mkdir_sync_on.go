//go:build durable_mutate_skip_mkdir_sync

package mutate

// SkipMkdirSync is on: this build is broken on purpose.
const SkipMkdirSync = true
