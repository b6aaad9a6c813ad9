//go:build !durable_mutate_jsonenc_patch_null_member

package mutate

// JsonencPatchNullMember is off in every normal build. With the build tag
// durable_mutate_jsonenc_patch_null_member it is on: PatchMembers takes a
// member whose patch is null (a deletion) as a change of that member.
const JsonencPatchNullMember = false
