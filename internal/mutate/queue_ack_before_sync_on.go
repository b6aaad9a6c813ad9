//go:build durable_mutate_queue_ack_before_sync

package mutate

// QueueAckBeforeSync is on: this build is broken on purpose (queue Ack returns before the ack event is flushed).
const QueueAckBeforeSync = true
