//go:build durable_mutate_queue_push_before_sync

package mutate

// QueuePushBeforeSync is on: this build is broken on purpose (queue Push returns before the pushed message is flushed).
const QueuePushBeforeSync = true
