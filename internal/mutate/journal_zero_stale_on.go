//go:build durable_mutate_journal_zero_stale

package mutate

// JournalZeroStale is on: this build is broken on purpose (the journal
// writes its zeros ahead from where its own last zeros ended, over records
// other processes appended since).
const JournalZeroStale = true
