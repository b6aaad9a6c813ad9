package fsck

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/durable-go/durable/internal/checked"
	"github.com/durable-go/durable/lock"
)

// Kind names what a Finding is about. The names are stable: scripts read
// them in "durable fsck --json".
type Kind string

const (
	OrphanedTemp    Kind = "orphaned-temp"
	ActiveTemp      Kind = "active-temp" // a notice
	CorruptDocument Kind = "corrupt-document"
	CorruptBackup   Kind = "corrupt-backup"
	DuplicateKeys   Kind = "duplicate-keys"
	TornJSONL       Kind = "torn-jsonl"
	CorruptJSONL    Kind = "corrupt-jsonl"
	TornJournal     Kind = "torn-journal"
	CorruptJournal  Kind = "corrupt-journal"
	TamperedJournal Kind = "tampered-journal"
	TornQueue       Kind = "torn-queue"
	CorruptQueue    Kind = "corrupt-queue"
	TamperedQueue   Kind = "tampered-queue"
	QueueSnapshot   Kind = "queue-snapshot"
	StoreLog        Kind = "store-log"
	InsecureSecret  Kind = "insecure-secret"
	InsecureDir     Kind = "insecure-dir"
	StaleCorrupt    Kind = "stale-corrupt"
	KeptCorrupt     Kind = "kept-corrupt" // a notice
	Unreadable      Kind = "unreadable"
)

// Finding is one thing Check found.
type Finding struct {
	Path string `json:"path"`
	Kind Kind   `json:"kind"`
	// Problem is false for notices, which need nothing done.
	Problem bool `json:"problem"`
	// Detail says what is wrong, in a sentence.
	Detail string `json:"detail"`
	// Fixable says whether Fix repairs it; Action says how (or, when it is
	// not fixable, why not and what a person can do).
	Fixable bool   `json:"fixable"`
	Action  string `json:"action"`
	// Fixed says that Fix repaired it; FixError why that failed. Result
	// says what the repair did (where the damaged bytes were kept).
	Fixed    bool   `json:"fixed"`
	FixError string `json:"fix_error,omitempty"`
	Result   string `json:"result,omitempty"`
}

// Counts says how much Check looked at.
type Counts struct {
	Dirs      int `json:"dirs"`
	Files     int `json:"files"`
	Documents int `json:"documents"`
	JSONL     int `json:"jsonl"`
	Journals  int `json:"journals"`
	Queues    int `json:"queues"`
	Temps     int `json:"temps"`
}

// Report is what Check found, findings sorted by path and kind.
type Report struct {
	Findings []Finding `json:"findings"`
	Checked  Counts    `json:"checked"`
}

// Problems counts the findings that are problems, and of those the ones
// that were fixed.
func (r *Report) Problems() (problems, fixed int) {
	for _, f := range r.Findings {
		if f.Problem {
			problems++
			if f.Fixed {
				fixed++
			}
		}
	}
	return problems, fixed
}

// Defaults for Options.
const (
	DefaultOlderThan  = time.Hour
	DefaultGrace      = time.Minute
	DefaultStaleAfter = 7 * 24 * time.Hour
)

// Options configure Check. The zero value checks without changing
// anything.
type Options struct {
	// Fix repairs what is safe to repair (see the package documentation).
	// Without it Check changes nothing on disk.
	Fix bool
	// OlderThan is how old a temp file must be to count as orphaned where
	// fsck cannot see whether a process has it open (DefaultOlderThan).
	OlderThan time.Duration
	// Grace is how old a temp file that no process has open must be, on
	// Linux, to count as orphaned (DefaultGrace): a writer closes its temp
	// file just before renaming it.
	Grace time.Duration
	// StaleAfter is the age at which a kept damaged copy is reported as
	// stale (DefaultStaleAfter).
	StaleAfter time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time

	// openFiles replaces the /proc scan in tests.
	openFiles func() *openFiles
}

func (o *Options) normalize() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.OlderThan <= 0 {
		c.OlderThan = DefaultOlderThan
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = DefaultStaleAfter
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.openFiles == nil {
		c.openFiles = scanOpenFiles
	}
	return c
}

// Check checks every directory in dirs and everything below it (symbolic
// links are not followed). It returns an error only when a directory in
// dirs cannot be read at all, or ctx ends; everything found below is a
// Finding. See the package documentation for what it looks for and what
// Fix does.
func Check(ctx context.Context, dirs []string, opts *Options) (*Report, error) {
	c := &checker{ctx: ctx, o: opts.normalize(), rep: &Report{Findings: []Finding{}}}
	for _, d := range dirs {
		fi, err := checked.Stat(d)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, &fs.PathError{Op: "fsck", Path: d, Err: errors.New("not a directory")}
		}
		if err := c.dir(&dirRef{filepath.Clean(d), fi}, true); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(c.rep.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Kind, b.Kind))
	})
	return c.rep, nil
}

type checker struct {
	ctx context.Context
	o   Options
	rep *Report

	procOnce sync.Once
	proc     *openFiles
}

func (c *checker) add(f Finding) *Finding {
	c.rep.Findings = append(c.rep.Findings, f)
	return &c.rep.Findings[len(c.rep.Findings)-1]
}

// fix runs repair when Fix is set and records its outcome in f. repair
// returns what it did.
func (c *checker) fix(f Finding, repair func() (string, error)) {
	if c.o.Fix && f.Fixable {
		res, err := repair()
		if err != nil {
			f.FixError = err.Error()
		} else {
			f.Fixed, f.Result = true, res
		}
	}
	c.add(f)
}

func (c *checker) unreadable(path string, err error) {
	c.add(Finding{Path: path, Kind: Unreadable, Problem: true,
		Detail: fmt.Sprintf("cannot be checked: %v", errText(err, path)),
		Action: "not fixable: give fsck permission to read it, or check it as its owner"})
}

// errText is err's message without a leading copy of path.
func errText(err error, path string) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return pe.Err.Error()
	}
	return err.Error()
}

// entry is a directory entry with its Lstat information.
type entry struct {
	name string
	path string
	info fs.FileInfo
	dir  *dirRef
}

// dir checks one directory and recurses. top says it was named by the
// caller: failing to read it is an error rather than a finding.
func (c *checker) dir(ref *dirRef, top bool) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	path := ref.path
	des, err := os.ReadDir(path)
	if err != nil {
		if top {
			return err
		}
		c.unreadable(path, err)
		return nil
	}
	c.rep.Checked.Dirs++
	var ents []entry
	var subdirs []*dirRef
	for _, de := range des {
		p := filepath.Join(path, de.Name())
		// Not de.Info(): on Windows it would carry no identity to
		// compare a repair's open with (Lstat is what Info does on Unix).
		fi, err := checked.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			c.unreadable(p, err)
			continue
		}
		switch {
		case fi.Mode().IsRegular():
			ents = append(ents, entry{de.Name(), p, fi, ref})
		case fi.IsDir():
			subdirs = append(subdirs, &dirRef{p, fi})
		}
	}
	c.rep.Checked.Files += len(ents)
	if isJournalDir(ents) {
		// Everything in a journal's directory belongs to the journal
		// (evidence/ included): Verify checks it; only temp files are
		// looked at on their own.
		c.journal(path, ents)
		return nil
	}
	c.files(path, ents)
	for _, s := range subdirs {
		if err := c.dir(s, false); err != nil {
			return err
		}
		if doc, ok := isStoreLogName(s.path); ok {
			c.storeLog(doc, s.path)
		}
	}
	return nil
}

// files classifies and checks the regular files of one directory.
func (c *checker) files(dir string, ents []entry) {
	byName := map[string]*entry{}
	for i := range ents {
		byName[ents[i].name] = &ents[i]
	}
	// Families: a document's backups and kept copies, a JSON Lines file's
	// evidence.
	fams := map[string]*family{}
	fam := func(base string) *family {
		f := fams[base]
		if f == nil {
			f = &family{base: base, path: filepath.Join(dir, base)}
			fams[base] = f
		}
		return f
	}
	var temps, others []*entry
	for i := range ents {
		e := &ents[i]
		n := e.name
		if isTempName(n) {
			temps = append(temps, e)
			continue
		}
		if isLockName(n) {
			continue // a lock's sidecar: normal, and never to be removed
		}
		if base, k, ok := copyOf(n); ok {
			f := fam(base)
			switch k {
			case copyBackup:
				f.backups = append(f.backups, e)
			case copyCorrupt:
				f.corrupt = append(f.corrupt, e)
			case copyPreMigration:
				f.pre = append(f.pre, e)
			case copyTorn:
				f.torn = append(f.torn, e)
			case copyDiscardedLog:
				// Patches a user set aside (durable store compact
				// --discard): evidence to keep, nothing to check.
			}
			continue
		}
		others = append(others, e)
	}
	for _, e := range others {
		f := fams[e.name]
		switch {
		case isJSONLName(e.name) || f != nil && len(f.torn) > 0 && len(f.backups) == 0 && len(f.corrupt) == 0:
			fam(e.name).file, fam(e.name).jsonl = e, true
		case strings.HasSuffix(e.name, ".json") || f != nil:
			fam(e.name).file = e
		}
	}
	// Other tools name backups "name.bak.1" too: a family is ours when its
	// name says so, when the store's lock sidecar is beside it (every
	// store write takes it), or when a copy only the store or package
	// jsonl makes is there.
	for base, f := range fams {
		ours := strings.HasSuffix(base, ".json") || isJSONLName(base) || byName[base+lock.Suffix] != nil ||
			len(f.corrupt) > 0 || len(f.torn) > 0
		if !ours {
			delete(fams, base)
		}
	}
	sec := &secrets{dir: dir}
	for _, e := range temps {
		c.temp(e)
	}
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f := fams[n]
		if f.jsonl {
			c.jsonl(f)
		} else {
			c.document(f, sec)
		}
		c.keptCopies(f)
	}
	// Files that are neither documents nor JSON Lines: a private key?
	for _, e := range others {
		if f := fams[e.name]; f != nil && f.file == e {
			continue
		}
		c.plainSecret(e, sec)
	}
	c.secretDir(sec)
}

// isJournalDir reports whether the directory holds journal segments.
func isJournalDir(ents []entry) bool {
	for _, e := range ents {
		if isSegmentName(e.name) {
			return true
		}
	}
	return false
}

// age is how long ago t was, by the checker's clock.
func (c *checker) age(t time.Time) time.Duration { return c.o.Now().Sub(t) }

// roundAge prints a duration for people.
func roundAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}
