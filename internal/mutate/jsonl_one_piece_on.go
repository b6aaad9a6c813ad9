//go:build durable_mutate_jsonl_one_piece

package mutate

// JSONLOnePiece is on: this build is broken on purpose (jsonl writes a batch larger than maxBatch in one piece, synced once; only
// block-level crash states can tell).
const JSONLOnePiece = true
