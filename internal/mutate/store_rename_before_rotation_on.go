//go:build durable_mutate_store_rename_before_rotation

package mutate

// StoreRenameBeforeRotation is on: this build is broken on purpose (the
// store renames the new version over the file without waiting for the
// backup rotation, which may then finish after it, or not at all before a
// crash).
const StoreRenameBeforeRotation = true
