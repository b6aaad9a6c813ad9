package durable

import (
	"os"
	"strconv"
	"strings"

	"github.com/durable-go/durable/internal/sidecar"
)

// The names this package creates beside a file are built and recognised
// here, and only here: package store, the durable command and its fsck ask
// these functions rather than restating the formats.

// BackupName returns the name of the n-th newest backup of name,
// "name.bak.n" (n from 1): the scheme of Backup, Backups, package store and
// the durable command.
func BackupName(name string, n int) string { return name + ".bak." + strconv.Itoa(n) }

// ParseBackupName reports whether name is a backup's name, as BackupName
// makes them: it returns the name of the file it keeps and its number. The
// unnumbered "name.bak" that Backup made in earlier releases is a backup
// too, numbered 0. name may be a path or a base name.
func ParseBackupName(name string) (of string, n int, ok bool) {
	if of, ok := strings.CutSuffix(name, ".bak"); ok && of != "" && !os.IsPathSeparator(of[len(of)-1]) {
		return of, 0, true
	}
	i := strings.LastIndex(name, ".bak.")
	if i <= 0 || os.IsPathSeparator(name[i-1]) {
		return "", 0, false
	}
	digits := name[i+len(".bak."):]
	if digits == "" || digits[0] == '0' || len(digits) > 9 || strings.Trim(digits, "0123456789") != "" {
		return "", 0, false
	}
	n, _ = strconv.Atoi(digits)
	return name[:i], n, true
}

// ParseTempName reports whether base, a file name without its directory,
// is a temp file that this package (or a package built on it) creates
// beside target while writing it: ".target.<token>.tmp". Such a file
// never holds a published version; CleanTemp removes those a dead process
// left. A target name longer than 200 bytes is cut in the temp file's name,
// and so in what ParseTempName returns.
func ParseTempName(base string) (target string, ok bool) {
	return sidecar.ParseTempName(base)
}
