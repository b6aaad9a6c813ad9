//go:build !durable_mutate_journal_prep_stale

package mutate

// JournalPrepStale is off in every normal build. With the build tag
// durable_mutate_journal_prep_stale it is on: the journal writes a batch framed during the previous flush without checking that the journal is where the framing assumed (a failed flush, another process's records).
const JournalPrepStale = false
