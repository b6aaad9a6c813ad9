//go:build !durable_mutate_queue_push_before_sync

package mutate

// QueuePushBeforeSync is off in every normal build. With the build tag
// durable_mutate_queue_push_before_sync it is on: queue Push returns before the pushed message is flushed.
const QueuePushBeforeSync = false
