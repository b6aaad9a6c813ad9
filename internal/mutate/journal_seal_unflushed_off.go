//go:build !durable_mutate_journal_seal_unflushed

package mutate

// JournalSealUnflushed is off in every normal build. With the build tag
// durable_mutate_journal_seal_unflushed it is on: a rotation writes its seal after a batch not known to be flushed without flushing that batch first.
const JournalSealUnflushed = false
