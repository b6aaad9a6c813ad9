//go:build !durable_mutate_jsonl_short_tail

package mutate

// JSONLShortTail is off in every normal build. With the build tag
// durable_mutate_jsonl_short_tail it is on: jsonl's Open reads only the
// last batch of the file instead of everything a crash can have left
// unsynced.
const JSONLShortTail = false
