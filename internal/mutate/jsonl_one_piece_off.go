//go:build !durable_mutate_jsonl_one_piece

package mutate

// JSONLOnePiece is off in every normal build. With the build tag
// durable_mutate_jsonl_one_piece it is on: jsonl writes a batch larger than maxBatch in one piece, synced once.
const JSONLOnePiece = false
