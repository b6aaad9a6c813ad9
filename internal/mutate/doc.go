// Package mutate holds the test-only switches that break durable on purpose.
//
// Each switch is a constant set by a build tag, so normal builds carry no
// trace of it and the compiler removes the dead branches. The mutation check
// in .ci/run builds the crash tests with one tag at a time and requires them
// to FAIL: a harness that still passes with fsyncs removed proves nothing.
//
//	durable_mutate_skip_file_sync   do not fsync the temp file before rename
//	durable_mutate_skip_dir_sync    do not fsync the directory after rename
//	durable_mutate_skip_mkdir_sync  do not fsync the parent of a directory made on the way
//	durable_mutate_journal_ack_before_sync      journal acknowledges a batch before its fdatasync
//	durable_mutate_journal_skip_truncate        journal recovery keeps a torn tail
//	durable_mutate_journal_skip_rotate_dirsync  journal uses a new segment before its directory fsync
//	durable_mutate_journal_skip_shared_flush    journal acknowledges a batch whose flush processes share without it
//	durable_mutate_journal_prep_stale           journal writes a batch framed during the last flush even after that flush failed
//	durable_mutate_journal_seal_unflushed       journal seals a segment before flushing the unflushed batch before the seal
//	durable_mutate_journal_chain_unflagged      journal's AppendFlushedShared writes its batch without the flag that it follows one not known to be flushed
//	durable_mutate_journal_zero_stale           journal writes zeros ahead from its own last zeros, over records others appended since
//	durable_mutate_jsonenc_member_not_stale     the store's encoder lets a map's table copy vouch for a member SetMember stored
//	durable_mutate_jsonenc_patch_null_member    the store's encoder applies a merge patch's deletion of a map member as a change of it
//	durable_mutate_jsonl_ack_before_sync  jsonl acknowledges an append without its fdatasync
//	durable_mutate_jsonl_skip_repair      jsonl neither cuts a torn tail nor checks the line boundary
//	durable_mutate_jsonl_refuse_leftovers jsonl refuses a crash's leftovers (a lost block before complete lines)
//	durable_mutate_jsonl_one_piece        jsonl writes a batch beyond maxBatch in one piece, synced once
//	durable_mutate_jsonl_short_tail       jsonl's Open reads only the last batch, too little of the end
//	durable_mutate_jsonl_cache_never_syncs jsonl with durable.Cache never fsyncs, so damage is not bounded to the end
//	durable_mutate_queue_ack_before_sync        queue Ack returns before the ack event is flushed
//	durable_mutate_queue_push_before_sync       queue Push returns before the pushed message is flushed
//	durable_mutate_store_skip_rotate_dirsync    store rotates backups with no directory fsync before the publish
//	durable_mutate_store_rename_before_rotation store publishes without waiting for the backup rotation running beside the write
package mutate
