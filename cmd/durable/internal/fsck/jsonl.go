package fsck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/durable-go/durable/jsonl"
)

// jsonl checks a JSON Lines file: jsonl.Scan reads it without a lock and
// reports both kinds of damage.
func (c *checker) jsonl(f *family) {
	if f.file == nil {
		return
	}
	c.rep.Checked.JSONL++
	var first, torn *jsonl.CorruptError
	corrupt := 0
	r, _, err := openEntry(f.file, os.O_RDONLY)
	if err != nil {
		c.unreadable(f.path, err)
		return
	}
	defer r.Close()
	for _, err := range jsonl.ScanReader(r) {
		if err == nil {
			continue
		}
		var ce *jsonl.CorruptError
		switch {
		case errors.As(err, &ce) && ce.Torn:
			torn = ce
		case errors.As(err, &ce):
			if corrupt++; first == nil {
				first = ce
			}
		default:
			c.unreadable(f.path, err)
			return
		}
	}
	if corrupt > 0 {
		c.add(Finding{Path: f.path, Kind: CorruptJSONL, Problem: true,
			Detail: fmt.Sprintf("%d line(s) in the middle are not JSON; the first is line %d (byte %d): %s", corrupt, first.Line, first.Offset, first.Reason),
			Action: "not fixable: lines in the middle are never cut; edit them by hand (appends refuse the file until then)"})
	}
	if torn == nil {
		return
	}
	fd := Finding{Path: f.path, Kind: TornJSONL, Problem: true,
		Detail: fmt.Sprintf("ends in a torn last line, what a crash during an append leaves: line %d (byte %d, %d bytes): %s", torn.Line, torn.Offset, torn.Length, torn.Reason)}
	if corrupt > 0 {
		fd.Action = "not fixable while the file has corrupt lines in the middle (jsonl.Repair refuses it too); fix those first"
		c.add(fd)
		return
	}
	fd.Fixable = true
	fd.Action = fmt.Sprintf("--fix cuts it as the next append would, keeping the bytes in %s%s<time>", f.base, jsonl.EvidenceInfix)
	c.fix(fd, func() (string, error) {
		// Repair the file that was scanned, through its descriptor: a
		// repair by path would follow a link swapped in meanwhile, and cut
		// (and keep evidence of) a file outside the tree.
		w, fi, err := openEntry(f.file, os.O_RDWR|os.O_APPEND)
		if err != nil {
			return "", err
		}
		defer w.Close()
		if err := singleLink(fi); err != nil {
			return "", err
		}
		rep, err := jsonl.RepairFile(w, nil)
		if err != nil {
			return "", err
		}
		if rep.CutBytes == 0 {
			return "nothing to cut: the line was a write in progress, now complete", nil
		}
		return fmt.Sprintf("cut %d bytes at byte %d, kept in %s", rep.CutBytes, rep.CutOffset, filepath.Base(rep.Evidence)), nil
	})
}
