package fsck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"unicode/utf8"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/store"
)

// family is a file and the copies kept beside it.
type family struct {
	base    string // the file's name
	path    string
	file    *entry // nil when only copies exist
	jsonl   bool
	backups []*entry
	corrupt []*entry
	pre     []*entry
	torn    []*entry
}

// copies returns every kept copy: backups, damaged copies, pre-migration
// copies and torn tails.
func (f *family) copies() []*entry {
	return slices.Concat(f.backups, f.corrupt, f.pre, f.torn)
}

// maxDocument bounds the documents fsck reads: store documents are small,
// and a huge "*.json" file is not one of them.
const maxDocument = 256 << 20

// readDocument reads a document, or returns nil for one too large to be a
// store document.
func readDocument(e *entry) ([]byte, error) {
	if e.info.Size() > maxDocument {
		return nil, nil
	}
	f, _, err := openEntry(e, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDocument+1))
	if err != nil || len(data) > maxDocument {
		return nil, err
	}
	return data, nil
}

var utf8BOM = []byte("\xef\xbb\xbf")

// invalidJSON says why data is not a document package store could read,
// whatever the program's type, or returns "" when it is a valid JSON text.
// It follows store's parse: a leading byte order mark is allowed.
func invalidJSON(data []byte) string {
	data = bytes.TrimPrefix(data, utf8BOM)
	switch {
	case len(data) > 0 && bytes.Count(data, []byte{0}) == len(data):
		return "the file is all zero bytes"
	case len(bytes.TrimSpace(data)) == 0:
		return "the file is empty"
	case !utf8.Valid(data):
		return "invalid UTF-8"
	case !json.Valid(data):
		var x any
		err := json.Unmarshal(data, &x)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Sprintf("not valid JSON: %v (at byte %d)", se, se.Offset)
		}
		return "not valid JSON"
	}
	return ""
}

// document checks a store document and its backups.
func (c *checker) document(f *family, sec *secrets) {
	slices.SortFunc(f.backups, func(a, b *entry) int { return backupNumber(a.name) - backupNumber(b.name) })
	// Whether the content holds secrets matters only when someone else
	// could get at it.
	exposed := false
	if checkModes {
		exposed = sec.dirOpen() || f.file != nil && loose(f.file)
		for _, e := range f.copies() {
			exposed = exposed || loose(e)
		}
	}
	good := ""   // the newest backup that parses
	maxBak := 0  // the highest backup number
	secret := "" // why the document holds secrets
	for _, b := range f.backups {
		_, n, _ := durable.ParseBackupName(b.name)
		maxBak = max(maxBak, n)
		data, err := readDocument(b)
		if err != nil {
			c.unreadable(b.path, err)
			continue
		}
		if data == nil {
			continue
		}
		if why := invalidJSON(data); why != "" {
			c.add(Finding{Path: b.path, Kind: CorruptBackup, Problem: true,
				Detail: fmt.Sprintf("backup of %s does not parse: %s", f.base, why),
				Action: "not fixable: backups are never rewritten; remove it by hand once " + f.base + " is good"})
			continue
		}
		if good == "" && n > 0 { // the store recovers from numbered ones only
			good = b.path
		}
		if secret == "" && exposed {
			secret = secretKey(data)
		}
	}
	if e := f.file; e != nil {
		c.rep.Checked.Documents++
		data, err := readDocument(e)
		why := ""
		if data != nil {
			why = invalidJSON(data)
		}
		switch {
		case err != nil:
			c.unreadable(e.path, err)
		case data == nil:
		case why != "":
			c.corruptDocument(f, why, good, maxBak)
		default:
			if path, key, dup := DuplicateKey(data); dup {
				c.add(Finding{Path: e.path, Kind: DuplicateKeys, Problem: true,
					Detail: fmt.Sprintf("the object at %s has the key %q twice; readers keep only the last", path, key),
					Action: "not fixable automatically: which one is meant is yours to say (durable edit)"})
			}
			if exposed {
				if s := secretKey(data); s != "" {
					secret = s
				}
			}
		}
	}
	c.familySecrets(f, secret, sec)
}

func (c *checker) corruptDocument(f *family, why, good string, maxBak int) {
	fd := Finding{Path: f.path, Kind: CorruptDocument, Problem: true,
		Detail: fmt.Sprintf("does not parse: %s", why)}
	if good == "" {
		what := "no backup exists"
		if len(f.backups) > 0 {
			what = "no backup parses"
		}
		fd.Action = fmt.Sprintf("not fixable: %s; repair the file by hand, or move it away to start afresh", what)
		c.add(fd)
		return
	}
	fd.Fixable = true
	fd.Action = fmt.Sprintf("--fix restores %s (the newest backup that parses) and keeps the damaged file as %s.corrupt.<time>, as the store does",
		filepath.Base(good), f.base)
	c.fix(fd, func() (string, error) {
		// The name must still be the file that was checked, not a link
		// planted since (the store follows a link at its target).
		cf, _, err := openEntry(f.file, os.O_RDONLY)
		if err != nil {
			return "", err
		}
		cf.Close()
		// The store's own recovery, under the document's lock: it re-reads
		// the file, so a version written meanwhile is not touched.
		// (Without OnRecover, the store puts the backup back byte for
		// byte and keeps the report for Warnings.)
		st, err := store.Open(f.path, &store.Options[json.RawMessage]{Backups: max(maxBak, 1)})
		if err != nil {
			return "", err
		}
		var rec *store.RecoveredError
		warns, _ := st.Warnings()
		for _, w := range warns {
			if r, ok := w.(*store.RecoveredError); ok && rec == nil {
				rec = r
			}
		}
		switch {
		case rec != nil && rec.MovedTo != "":
			return fmt.Sprintf("restored %s; the damaged file is kept as %s", filepath.Base(rec.Backup), filepath.Base(rec.MovedTo)), nil
		case rec != nil:
			return "", fmt.Errorf("the store could not put the backup in place: %v", rec.MoveErr)
		}
		return "nothing to do: the document parses now (it was replaced meanwhile)", nil
	})
}

// keptCopies reports damaged copies that recoveries kept.
func (c *checker) keptCopies(f *family) {
	for _, e := range slices.Concat(f.corrupt, f.torn) {
		k := copyCorrupt
		what := "a damaged version of " + f.base + " that the store set aside when it recovered from a backup"
		if slices.Contains(f.torn, e) {
			k = copyTorn
			what = "the torn tail cut from " + f.base + " by a repair"
		}
		at, ok := keptAt(e.name, k)
		if !ok {
			at = lastChange(e.info)
		}
		age := c.age(at)
		fd := Finding{Path: e.path, Kind: KeptCorrupt, Problem: false,
			Detail: fmt.Sprintf("%s, %s ago", what, roundAge(age)),
			Action: "nothing to do unless it matters: look at it, then remove it by hand"}
		if age >= c.o.StaleAfter {
			fd.Kind, fd.Problem = StaleCorrupt, true
			fd.Detail = fmt.Sprintf("%s, %s ago, still here (older than %s)", what, roundAge(age), roundAge(c.o.StaleAfter))
			fd.Action = "not fixable: fsck never deletes the only copy of damaged data; look at it, then remove it by hand"
		}
		c.add(fd)
	}
}
