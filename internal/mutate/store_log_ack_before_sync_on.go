//go:build durable_mutate_store_log_ack_before_sync

package mutate

// StoreLogAckBeforeSync is on: this build is broken on purpose (a store in
// log mode acknowledges an update whose patch is written but not flushed).
const StoreLogAckBeforeSync = true
