//go:build durable_mutate_jsonl_ack_before_sync

package mutate

// JSONLAckBeforeSync is on: this build is broken on purpose. jsonl
// acknowledges an append without the fdatasync that should cover it.
const JSONLAckBeforeSync = true
