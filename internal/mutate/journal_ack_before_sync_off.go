//go:build !durable_mutate_journal_ack_before_sync

package mutate

// JournalAckBeforeSync is off in every normal build. With the build tag
// durable_mutate_journal_ack_before_sync it is on: acknowledge journal appends before their fdatasync (skip it).
const JournalAckBeforeSync = false
