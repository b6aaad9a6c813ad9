//go:build !durable_mutate_store_rename_before_rotation

package mutate

// StoreRenameBeforeRotation is off in every normal build. With the build
// tag durable_mutate_store_rename_before_rotation it is on: the store's
// rename of the new version does not wait for the backup rotation that
// runs while the new version is written.
const StoreRenameBeforeRotation = false
