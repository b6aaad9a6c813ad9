//go:build !durable_mutate_queue_ack_before_sync

package mutate

// QueueAckBeforeSync is off in every normal build. With the build tag
// durable_mutate_queue_ack_before_sync it is on: queue Ack returns before the ack event is flushed.
const QueueAckBeforeSync = false
