//go:build !durable_mutate_journal_skip_truncate

package mutate

// JournalSkipTruncate is off in every normal build. With the build tag
// durable_mutate_journal_skip_truncate it is on: do not cut a torn journal tail back during recovery.
const JournalSkipTruncate = false
