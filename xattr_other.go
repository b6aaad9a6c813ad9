//go:build !linux && !darwin && !freebsd

package durable

import "errors"

// Elsewhere (Windows, the other BSDs, Plan 9) a replace keeps no extended
// attributes, alternate data streams or ACLs: the new version has those a
// new file gets in its directory. (Windows: see issue 22.)
func keptXattr(name string, root bool) bool { return false }

const capabilityXattr = "\x00"

func bestEffortXattr(name string) bool { return false }

var errNoAttr = errors.ErrUnsupported

func xattrUnsupported(err error) bool { return true }

func listXattrs(path string, buf []byte) ([]string, error) { return nil, nil }

func getXattr(path, name string) ([]byte, error) { return nil, errors.ErrUnsupported }

func setXattr(fd int, name string, value []byte) error { return errors.ErrUnsupported }
