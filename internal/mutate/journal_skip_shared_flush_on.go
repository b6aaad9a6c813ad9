//go:build durable_mutate_journal_skip_shared_flush

package mutate

// JournalSkipSharedFlush is on: this build is broken on purpose (a journal batch whose flush is shared across processes is acknowledged without it).
const JournalSkipSharedFlush = true
