//go:build !windows

package main

import "github.com/google/renameio/v2"

// renameioContender is google/renameio/v2, whose WriteFile exists on Unix
// only.
func renameioContender(size int) (Contender, bool) {
	return Contender{
		ID: "renameio", Name: "google/renameio/v2",
		Claim: Claim{
			Level: NotDurable,
			Short: "no directory fsync",
			File:  "fsync of the temp file before the rename",
			Dir: "none: CloseAtomicallyReplace is Sync, Close, Rename; and the temp file goes to $TMPDIR " +
				"whenever that is on the same filesystem, which tempDir tests with two temp files and a rename on every call",
			Source: "tempfile.go (CloseAtomicallyReplace, tempDir), writefile.go",
		},
		Open: replacer(size, func() func(string, []byte) error {
			return func(path string, data []byte) error { return renameio.WriteFile(path, data, 0o644) }
		}),
	}, true
}
