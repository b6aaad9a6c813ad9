//go:build durable_mutate_journal_skip_truncate

package mutate

// JournalSkipTruncate is on: this build is broken on purpose (do not cut a torn journal tail back during recovery).
const JournalSkipTruncate = true
