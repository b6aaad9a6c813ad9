//go:build unix

package follow

import (
	"errors"
	"syscall"
)

// noFollow makes an open fail where the name's last element is a link.
const noFollow = syscall.O_NOFOLLOW

// isLinkErr reports the error an O_NOFOLLOW open gives for a link: ELOOP,
// or EMLINK on FreeBSD.
func isLinkErr(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK)
}
