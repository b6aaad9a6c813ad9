package durable

import (
	"errors"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// On macOS a replace keeps every extended attribute it can list (Finder
// tags and info, quarantine, Spotlight metadata, the resource fork, users'
// own), except the system's protected ones (com.apple.system.*,
// com.apple.rootless). ACLs are not extended attributes there and are not
// kept: a replaced file has none (chmod +a again).
func keptXattr(name string, root bool) bool {
	return !strings.HasPrefix(name, "com.apple.system.") && name != "com.apple.rootless"
}

// capabilityXattr is Linux's; no name matches it here.
const capabilityXattr = "\x00"

// bestEffortXattr: the system refuses some attributes to ordinary
// processes (com.apple.provenance, for one). None of them grants access
// (ACLs are not attributes here), so one that cannot be set is dropped
// rather than failing the write.
func bestEffortXattr(name string) bool { return true }

var errNoAttr = unix.ENOATTR

func xattrUnsupported(err error) bool {
	return errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.ENOSYS)
}
