//go:build !durable_mutate_jsonl_ack_before_sync

package mutate

// JSONLAckBeforeSync is off in every normal build.
const JSONLAckBeforeSync = false
