//go:build !durable_mutate_jsonl_refuse_leftovers

package mutate

// JSONLRefuseLeftovers is off in every normal build. With the build tag
// durable_mutate_jsonl_refuse_leftovers it is on: jsonl treats a crash's leftovers (a lost block before complete lines) as damage in the middle.
const JSONLRefuseLeftovers = false
