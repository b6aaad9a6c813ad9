package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/durable-go/durable/cmd/durable/internal/fsck"
)

// fsckJSONVersion is the version of the "durable fsck --json" document.
// Fields are only ever added; a change in meaning gets a new version.
const fsckJSONVersion = 1

func fsckVerb() verb {
	return verb{
		name:    "fsck",
		args:    "DIR...",
		summary: "find (and with --fix repair) leftovers, damage and loose modes",
		about: `Checks each DIR and everything below it (symbolic links are not followed) for
what crashes, damaged disks, hand edits and loose modes leave behind. Without
--fix nothing on disk changes: no lock, temp or evidence file is created. With
--fix it repairs only what the owning package would repair itself, with that
package's code and under its lock (waiting for it), and never deletes data:
the only files it removes are orphaned temp files, which never held a
published version.

Prints one line per finding: PATH: KIND: what is wrong; what --fix does (or
did, or why it cannot). Then a summary. Kinds:

  orphaned-temp     temp file (.name.<token>.tmp, .<base>.seg.tmp) whose writer
                    is gone. On Linux: no process has it open (every
                    /proc/PID/fd is looked at) and it last changed (mtime or
                    ctime) more than --grace ago. Where fsck cannot see every
                    process of the file's owner (not root, or not Linux): it
                    last changed more than --older-than ago.
                    --fix removes it. A younger or open one is an active-temp
                    note.
  corrupt-document  a store document (*.json, or a file with the store's
                    NAME.lock and NAME.bak.N or NAME.pre-vN beside it, or a
                    NAME.corrupt.<time>) that is not valid JSON.
                    --fix does what the store does: keeps the damaged file as
                    NAME.corrupt.<time> and restores the newest backup that
                    parses. Without one: not fixable.
  corrupt-backup    a NAME.bak.N (or the unnumbered NAME.bak of earlier
                    releases) that is not valid JSON; not fixable
  torn-jsonl        a JSON Lines file (*.jsonl, *.ndjson) ending in a torn
                    line; --fix cuts it as the next append would, keeping the
                    bytes in NAME.torn.<time> (not while corrupt-jsonl)
  corrupt-jsonl     a corrupt line in the middle; never cut, not fixable
  torn-journal      a journal (or queue: torn-queue) ending in a torn batch
                    a crash left, never acknowledged; --fix opens it for
                    writing, which cuts it into evidence/ and notes it
  corrupt-journal, tampered-journal, corrupt-queue, tampered-queue
                    damage that is not a torn tail; not fixable
  queue-snapshot    a queue's state snapshot that is damaged, stale or gives
                    another state than a replay of every event; --fix keeps
                    it as queue.snapshot.corrupt and rebuilds it
  insecure-secret   a secret that group or others can access (Unix): a JSON
                    document with a credential key (access_token,
                    refresh_token, client_secret, password, api_key, ...; an
                    oauth token file), its backups and kept copies, a
                    'durable log keygen' private key, or a copy more open
                    than its private document. --fix: chmod go-rwx.
  insecure-dir      a directory holding secrets that group or others can
                    write (no sticky bit); not fixable by fsck
  stale-corrupt     a damaged copy (NAME.corrupt.<time>, NAME.torn.<time>)
                    older than --stale-after; never deleted. A younger one is
                    a kept-corrupt note.
  unreadable        could not be read, so could not be checked

Exit 0: no problems (notes do not count); 11: problems remain (found, not
fixable, or the fix failed); 12: --fix repaired every problem it found.

--json prints one document: {"version": 1, "fix": bool, "dirs": [...],
"findings": [{"path", "kind", "problem", "detail", "fixable", "action",
"fixed", "fix_error", "result"}], "summary": {"problems", "fixed",
"remaining", "fixable", "notes"}, "checked": {"dirs", "files", "documents", "jsonl",
"journals", "queues", "temps"}, "code": N}. Fields are only ever added.`,
		example: `durable fsck ~/.config/app
durable fsck --fix --json ~/.config/app ~/.local/state/app`,
		run: runFsck,
	}
}

// fsckOutput is the --json document.
type fsckOutput struct {
	Version  int            `json:"version"`
	Fix      bool           `json:"fix"`
	Dirs     []string       `json:"dirs"`
	Findings []fsck.Finding `json:"findings"`
	Summary  fsckSummary    `json:"summary"`
	Checked  fsck.Counts    `json:"checked"`
	Code     int            `json:"code"`
}

type fsckSummary struct {
	Problems  int `json:"problems"`
	Fixed     int `json:"fixed"`
	Remaining int `json:"remaining"`
	Fixable   int `json:"fixable"` // of the remaining, those --fix would repair
	Notes     int `json:"notes"`
}

func runFsck(c *cli, args []string) int {
	fs := c.flags()
	fix := fs.Bool("fix", false, "repair what is safe to repair (see above)")
	asJSON := fs.Bool("json", false, "print the findings, or the error, as one JSON document")
	olderThan := fs.Duration("older-than", fsck.DefaultOlderThan, "age at which a temp file counts as orphaned when fsck cannot see whether a process has it open")
	grace := fs.Duration("grace", fsck.DefaultGrace, "Linux: age at which a temp file that no process has open counts as orphaned")
	stale := fs.Duration("stale-after", fsck.DefaultStaleAfter, "age at which a kept damaged copy is reported as stale")
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		return c.usageError("want at least one DIR")
	}
	for _, d := range []*time.Duration{olderThan, grace, stale} {
		if *d <= 0 {
			return c.usageError("durations must be positive")
		}
	}
	rep, err := fsck.Check(c.ctx, rest, &fsck.Options{Fix: *fix, OlderThan: *olderThan, Grace: *grace, StaleAfter: *stale})
	if err != nil {
		return c.fail(err, *asJSON)
	}
	problems, fixed := rep.Problems()
	sum := fsckSummary{Problems: problems, Fixed: fixed, Remaining: problems - fixed, Notes: len(rep.Findings) - problems}
	for _, f := range rep.Findings {
		if f.Problem && f.Fixable && !f.Fixed && f.FixError == "" {
			sum.Fixable++
		}
	}
	code = exitOK
	switch {
	case sum.Remaining > 0:
		code = exitFsckProblems
	case sum.Fixed > 0:
		code = exitFsckFixed
	}
	if *asJSON {
		c.printJSON(fsckOutput{Version: fsckJSONVersion, Fix: *fix, Dirs: rest, Findings: rep.Findings,
			Summary: sum, Checked: rep.Checked, Code: code})
		return code
	}
	for _, f := range rep.Findings {
		fmt.Fprintln(c.stdout, findingLine(f, *fix))
	}
	fmt.Fprintln(c.stdout, fsckSummaryLine(sum, rep.Checked, *fix))
	return code
}

// findingLine is one finding for people: PATH: KIND: detail; action.
func findingLine(f fsck.Finding, fix bool) string {
	prefix := ""
	if !f.Problem {
		prefix = "note: "
	}
	var action string
	switch {
	case f.Fixed:
		action = "fixed: " + f.Result
	case f.FixError != "":
		action = "FIX FAILED: " + f.FixError
	case f.Fixable && fix:
		action = "not fixed"
	default:
		action = f.Action
	}
	return fmt.Sprintf("%s%s: %s: %s; %s", prefix, f.Path, f.Kind, f.Detail, action)
}

func fsckSummaryLine(s fsckSummary, n fsck.Counts, fix bool) string {
	var b strings.Builder
	b.WriteString("fsck: ")
	switch {
	case s.Problems == 0:
		b.WriteString("no problems")
	case fix:
		fmt.Fprintf(&b, "%s, %d fixed, %d remain", fsckCount(s.Problems, "problem"), s.Fixed, s.Remaining)
	default:
		b.WriteString(fsckCount(s.Problems, "problem"))
	}
	if s.Notes > 0 {
		fmt.Fprintf(&b, ", %s", fsckCount(s.Notes, "note"))
	}
	fmt.Fprintf(&b, "; checked %s, %s, %s, %s, %s, %s",
		fsckCount(n.Dirs, "directory"), fsckCount(n.Files, "file"), fsckCount(n.Documents, "document"),
		fsckCount(n.JSONL, "JSON Lines file"), fsckCount(n.Journals, "journal"), fsckCount(n.Queues, "queue"))
	if s.Fixable > 0 && !fix {
		fmt.Fprintf(&b, "\nrun with --fix to repair %d of them", s.Fixable)
	}
	return b.String()
}

func fsckCount(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if strings.HasSuffix(what, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(what, "y"))
	}
	return fmt.Sprintf("%d %ss", n, what)
}
