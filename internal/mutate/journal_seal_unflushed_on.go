//go:build durable_mutate_journal_seal_unflushed

package mutate

// JournalSealUnflushed is on: this build is broken on purpose (a rotation writes its seal after a batch not known to be flushed without flushing that batch first).
const JournalSealUnflushed = true
