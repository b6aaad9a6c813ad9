//go:build durable_mutate_journal_prep_stale

package mutate

// JournalPrepStale is on: this build is broken on purpose (the journal writes a batch framed during the previous flush without checking that the journal is where the framing assumed).
const JournalPrepStale = true
