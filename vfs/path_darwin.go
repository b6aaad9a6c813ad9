package vfs

import (
	"os"
	"path/filepath"
)

// onDiskName returns newname spelled as the directory already spells it,
// when it names an existing entry by another spelling. APFS and HFS+ are
// by default case-insensitive and normalization-insensitive ("Config.json"
// and "config.json", or "é" composed and decomposed, are one name), and a
// rename over an existing entry gives it the new spelling: a replace
// would rename the user's file. A replace changes the content, never the
// name.
//
// Without a name lookup that returns the stored spelling in x/sys/unix
// (getattrlist), the directory is read: the entry that is the same file
// as newname, among those that could be another spelling of its name
// (equal under case folding, or not plain ASCII when either is not). It
// is asked only when newname exists, and costs one directory read per
// replace of an existing file.
func onDiskName(newname string) string {
	fi, err := os.Lstat(newname)
	if err != nil {
		return newname
	}
	dir, base := filepath.Split(newname)
	d, err := os.Open(filepath.Clean(dir + "."))
	if err != nil {
		return newname
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return newname
	}
	exact, candidates := spellings(names, base)
	if exact {
		return newname
	}
	for _, n := range candidates {
		if cfi, err := os.Lstat(filepath.Join(dir, n)); err == nil && os.SameFile(fi, cfi) {
			return filepath.Join(dir, n)
		}
	}
	return newname
}
