//go:build durable_mutate_jsonl_skip_repair

package mutate

// JSONLSkipRepair is on: this build is broken on purpose. jsonl neither
// cuts a torn tail at Open nor checks the line boundary before appending.
const JSONLSkipRepair = true
