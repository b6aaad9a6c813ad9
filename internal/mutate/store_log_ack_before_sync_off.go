//go:build !durable_mutate_store_log_ack_before_sync

package mutate

// StoreLogAckBeforeSync is off in every normal build. With the build tag
// durable_mutate_store_log_ack_before_sync it is on: a store in log mode
// acknowledges an update whose patch is written but not flushed.
const StoreLogAckBeforeSync = false
