//go:build durable_mutate_jsonl_cache_never_syncs

package mutate

// JSONLCacheNeverSyncs is on: this build is broken on purpose (jsonl with
// durable.Cache never fsyncs; damage can lie before the end Open checks).
const JSONLCacheNeverSyncs = true
