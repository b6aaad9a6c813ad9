package durable

import (
	"errors"
	"strings"
	"syscall"
)

// On Linux a replace keeps:
//   - user.* attributes;
//   - POSIX ACLs (system.posix_acl_access, and system.posix_acl_default
//     where a file has one);
//   - as root, trusted.* attributes and the file capability
//     (security.capability), which only root may set.
//
// It does not keep SELinux, SMACK, IMA or EVM labels (security.*): a new
// file gets its label from the policy, as any new file does. NFSv4 ACLs
// (system.nfs4_acl) are not kept either.
func keptXattr(name string, root bool) bool {
	switch {
	case strings.HasPrefix(name, "user."),
		name == "system.posix_acl_access", name == "system.posix_acl_default":
		return true
	case strings.HasPrefix(name, "trusted."), name == capabilityXattr:
		return root
	}
	return false
}

// bestEffortXattr: root may lack the privilege for these (a container
// without CAP_SETFCAP or CAP_SYS_ADMIN); they are then dropped.
func bestEffortXattr(name string) bool {
	return name == capabilityXattr || strings.HasPrefix(name, "trusted.")
}

// capabilityXattr is cleared by every write to the file, so it is set after
// the last one.
const capabilityXattr = "security.capability"

var errNoAttr = syscall.ENODATA

func xattrUnsupported(err error) bool {
	return errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.ENOSYS)
}
