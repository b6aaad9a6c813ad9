//go:build durable_mutate_jsonenc_patch_null_member

package mutate

// JsonencPatchNullMember is on: this build is broken on purpose
// (PatchMembers takes a member's null patch, a deletion, as a change).
const JsonencPatchNullMember = true
