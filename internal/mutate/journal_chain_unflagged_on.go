//go:build durable_mutate_journal_chain_unflagged

package mutate

// JournalChainUnflagged is on: this build is broken on purpose (a batch that Tx.AppendFlushedShared writes after its turn's first batch, whose flush is left for after the lock, does not say in its commit frame that it follows a batch not known to be flushed).
const JournalChainUnflagged = true
