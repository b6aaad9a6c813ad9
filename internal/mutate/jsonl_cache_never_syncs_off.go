//go:build !durable_mutate_jsonl_cache_never_syncs

package mutate

// JSONLCacheNeverSyncs is off in every normal build. With the build tag
// durable_mutate_jsonl_cache_never_syncs it is on: jsonl with durable.Cache
// never fsyncs, so what a power cut can damage is no longer bounded to the
// end that Open checks.
const JSONLCacheNeverSyncs = false
