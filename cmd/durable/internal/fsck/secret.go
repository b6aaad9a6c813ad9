package fsck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/durable-go/durable/internal/checked"
)

// checkModes says whether file modes mean anything here: not on Windows,
// where access is governed by ACLs that fsck does not read.
var checkModes = runtime.GOOS != "windows"

// credentialKeys are the JSON keys whose non-empty string values make a
// document a secret. An oauth token file has access_token and
// refresh_token.
var credentialKeys = map[string]bool{
	"access_token": true, "refresh_token": true, "id_token": true,
	"oauth_token": true, "auth_token": true, "token": true,
	"client_secret": true, "secret": true, "secret_key": true,
	"private_key": true, "password": true, "passwd": true,
	"api_key": true, "apikey": true,
}

// privateKeyPrefix starts a signing key from "durable log keygen"
// (golang.org/x/mod/sumdb/note).
const privateKeyPrefix = "PRIVATE+KEY+"

// secretKey returns the credential key a JSON document holds a value under
// (looking 4 levels deep), or "".
func secretKey(data []byte) string {
	var v any
	if json.Unmarshal(bytes.TrimPrefix(data, utf8BOM), &v) != nil {
		return ""
	}
	return findCredential(v, 0)
}

func findCredential(v any, depth int) string {
	if depth > 4 {
		return ""
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if s, ok := x[k].(string); ok && s != "" && credentialKeys[strings.ToLower(k)] {
				return k
			}
		}
		for _, k := range keys {
			if s := findCredential(x[k], depth+1); s != "" {
				return s
			}
		}
	case []any:
		for _, e := range x {
			if s := findCredential(e, depth+1); s != "" {
				return s
			}
		}
	}
	return ""
}

// loose reports whether group or others have any access to a file.
func loose(e *entry) bool { return e.info.Mode().Perm()&0o077 != 0 }

// secrets collects the secrets of one directory, to check the directory's
// own mode.
type secrets struct {
	dir  string
	held []string

	statted bool
	open    bool        // group or others may write, without the sticky bit
	mode    fs.FileMode // the directory's
}

// dirOpen reports whether group or others may replace files in the
// directory.
func (s *secrets) dirOpen() bool {
	if !s.statted {
		s.statted = true
		if fi, err := os.Stat(s.dir); err == nil {
			s.mode = fi.Mode()
			s.open = s.mode.Perm()&0o022 != 0 && s.mode&fs.ModeSticky == 0
		}
	}
	return s.open
}

// familySecrets checks the modes of a document and its copies. secret is
// the credential key the document or a backup holds, or "".
func (c *checker) familySecrets(f *family, secret string, sec *secrets) {
	if !checkModes {
		return
	}
	var members []*entry
	if f.file != nil {
		members = append(members, f.file)
	}
	members = append(members, f.copies()...)
	if secret != "" {
		sec.held = append(sec.held, f.base)
		for _, e := range members {
			if loose(e) {
				what := "holds credentials"
				if e != f.file {
					what = "is a copy of " + f.base + ", which holds credentials"
				}
				c.insecure(e, fmt.Sprintf("%s (key %q) and group or others can access it (mode %#o)", what, secret, uint32(e.info.Mode().Perm())))
			}
		}
		return
	}
	if f.file != nil && !loose(f.file) {
		for _, e := range f.copies() {
			if loose(e) {
				c.insecure(e, fmt.Sprintf("is a copy of %s (mode %#o) that group or others can access (mode %#o)",
					f.base, uint32(f.file.info.Mode().Perm()), uint32(e.info.Mode().Perm())))
			}
		}
	}
}

// plainSecret checks a file that is not a document: a private key?
func (c *checker) plainSecret(e *entry, sec *secrets) {
	if !checkModes || !loose(e) && !sec.dirOpen() {
		return
	}
	f, _, err := openEntry(e, os.O_RDONLY)
	if err != nil {
		if loose(e) {
			c.unreadable(e.path, err)
		}
		return
	}
	head := make([]byte, len(privateKeyPrefix))
	n, _ := io.ReadFull(f, head)
	f.Close()
	if string(head[:n]) != privateKeyPrefix {
		return
	}
	sec.held = append(sec.held, e.name)
	if loose(e) {
		c.insecure(e, fmt.Sprintf("is a private signing key and group or others can access it (mode %#o)", uint32(e.info.Mode().Perm())))
	}
}

// insecure reports a secret file that group or others can access; Fix
// takes their access away.
func (c *checker) insecure(e *entry, detail string) {
	want := e.info.Mode().Perm() &^ 0o077
	fd := Finding{Path: e.path, Kind: InsecureSecret, Problem: true, Detail: detail, Fixable: true,
		Action: fmt.Sprintf("--fix sets mode %#o (chmod go-rwx); tightening a mode loses nothing", uint32(want))}
	c.fix(fd, func() (string, error) {
		// fchmod on the descriptor of the file that was checked: a
		// chmod by path would follow a link swapped in meanwhile.
		f, fi, err := openEntry(e, os.O_RDONLY)
		if errors.Is(err, checked.ErrChanged) || errors.Is(err, checked.ErrNotRegular) {
			return "", errors.New("the file was replaced meanwhile; run fsck again")
		}
		if err != nil {
			return "", err
		}
		defer f.Close()
		if err := singleLink(fi); err != nil {
			return "", err
		}
		now := fi.Mode().Perm() &^ 0o077
		if err := f.Chmod(now); err != nil {
			return "", err
		}
		return fmt.Sprintf("mode is now %#o", uint32(now)), nil
	})
}

// secretDir reports a directory that holds secrets and that others may
// write.
func (c *checker) secretDir(sec *secrets) {
	if !checkModes || len(sec.held) == 0 || !sec.dirOpen() {
		return
	}
	slices.Sort(sec.held)
	c.add(Finding{Path: sec.dir, Kind: InsecureDir, Problem: true,
		Detail: fmt.Sprintf("group or others can write this directory (mode %#o, no sticky bit), so they can replace or remove the secrets it holds (%s)",
			uint32(sec.mode.Perm()), strings.Join(sec.held, ", ")),
		Action: fmt.Sprintf("not fixable by fsck: a directory's mode is shared by everything in it and may be deliberate; if nothing else needs to write it, run chmod go-w %s, or move the secrets to a 0700 directory",
			shellQuote(sec.dir))})
}

// shellQuote quotes a path for a command line in a message.
func shellQuote(p string) string {
	if p != "" && strings.IndexFunc(p, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:,@", r))
	}) < 0 {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}
