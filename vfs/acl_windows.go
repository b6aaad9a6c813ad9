//go:build windows

package vfs

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// privateSD is the security descriptor of a file created with a mode that
// gives group and others nothing (0o600, 0o400): a protected DACL with a
// single entry, full control for the user this process runs as. Unix
// permission bits mean nothing on Windows; without this the file would
// carry the DACL its directory passes down, which commonly lets every
// user of the machine, or at least its administrators and services, read
// it. The owner is the creator, as always.
var privateSD = sync.OnceValues(func() (*windows.SECURITY_DESCRIPTOR, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, err
	}
	return windows.SecurityDescriptorFromString("D:P(A;;FA;;;" + u.User.Sid.String() + ")")
})

// createSecurity returns the SECURITY_ATTRIBUTES for creating a file with
// perm: nil (the inherited DACL) unless perm gives group and others
// nothing. The handle is never inheritable.
func createSecurity(perm uint32) (*windows.SecurityAttributes, error) {
	if perm&0o077 != 0 {
		return nil, nil
	}
	sd, err := privateSD()
	if err != nil {
		return nil, err
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	return sa, nil
}
