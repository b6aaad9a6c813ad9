//go:build !durable_mutate_journal_skip_shared_flush

package mutate

// JournalSkipSharedFlush is off in every normal build. With the build tag
// durable_mutate_journal_skip_shared_flush it is on: a journal batch whose flush is shared across processes is acknowledged without it.
const JournalSkipSharedFlush = false
