package durable

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// On FreeBSD a replace keeps the user namespace of extended attributes
// (user.*). The system namespace is not copied (only root may read it,
// and on UFS it holds the POSIX.1e and NFSv4 ACLs, which are not kept: a
// replaced file has none, setfacl again).
func keptXattr(name string, root bool) bool { return true }

// capabilityXattr is Linux's; no name matches it here.
const capabilityXattr = "\x00"

func bestEffortXattr(name string) bool { return false }

var errNoAttr = unix.ENOATTR

func xattrUnsupported(err error) bool {
	return errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS)
}

// listXattrs lists the user namespace. extattr_list_link truncates rather
// than failing when buf is too small, so a full buffer is read again,
// larger; each name comes with a length byte before it.
func listXattrs(path string, buf []byte) ([]string, error) {
	for {
		n, err := unix.LlistxattrNS(path, unix.EXTATTR_NAMESPACE_USER, buf)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		if n >= len(buf) {
			buf = make([]byte, 2*len(buf)+n)
			continue
		}
		var names []string
		for b := buf[:n]; len(b) > 0; {
			l := int(b[0])
			if 1+l > len(b) {
				break
			}
			names = append(names, "user."+string(b[1:1+l]))
			b = b[1+l:]
		}
		return names, nil
	}
}

func getXattr(path, name string) ([]byte, error) {
	n, err := unix.Lgetxattr(path, name, nil)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	n, err = unix.Lgetxattr(path, name, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

func setXattr(fd int, name string, value []byte) error {
	return unix.Fsetxattr(fd, name, value, 0)
}
