//go:build !durable_mutate_jsonl_skip_repair

package mutate

// JSONLSkipRepair is off in every normal build.
const JSONLSkipRepair = false
