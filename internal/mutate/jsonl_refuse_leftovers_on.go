//go:build durable_mutate_jsonl_refuse_leftovers

package mutate

// JSONLRefuseLeftovers is on: this build is broken on purpose (jsonl treats a crash's leftovers (a lost block before complete lines) as damage in the middle; only
// block-level crash states can tell).
const JSONLRefuseLeftovers = true
