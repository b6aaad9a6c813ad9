//go:build durable_mutate_jsonl_short_tail

package mutate

// JSONLShortTail is on: this build is broken on purpose (jsonl's Open reads
// only the last batch of the file, too little to see all a crash can leave).
const JSONLShortTail = true
