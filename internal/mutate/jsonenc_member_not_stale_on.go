//go:build durable_mutate_jsonenc_member_not_stale

package mutate

// JsonencMemberNotStale is on: this build is broken on purpose (a member
// stored by SetMember is not marked stale in the map's table copy).
const JsonencMemberNotStale = true
