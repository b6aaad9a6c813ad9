//go:build !durable_mutate_jsonenc_member_not_stale

package mutate

// JsonencMemberNotStale is off in every normal build. With the build tag
// durable_mutate_jsonenc_member_not_stale it is on: a member stored by
// SetMember is not marked stale in the map's table copy, which then
// vouches for a slot it no longer describes.
const JsonencMemberNotStale = false
