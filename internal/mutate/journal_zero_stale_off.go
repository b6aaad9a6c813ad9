//go:build !durable_mutate_journal_zero_stale

package mutate

// JournalZeroStale is off in every normal build. With the build tag
// durable_mutate_journal_zero_stale it is on: the journal writes its zeros
// ahead from where its own last zeros ended, even when other processes
// have appended past there since.
const JournalZeroStale = false
