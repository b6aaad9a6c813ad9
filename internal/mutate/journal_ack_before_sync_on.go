//go:build durable_mutate_journal_ack_before_sync

package mutate

// JournalAckBeforeSync is on: this build is broken on purpose (acknowledge journal appends before their fdatasync (skip it)).
const JournalAckBeforeSync = true
