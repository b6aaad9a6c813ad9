package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// This file reads an strace log of a probe (see probe.go) and decides from
// the system calls alone whether each operation was durable when it
// returned. It knows nothing about the libraries: a contender passes
// because of what it did, not because of what its documentation says.

// tracedCalls are the system calls the probe records: syncs, and the calls
// that create or move directory entries. Markers are mkdir calls that
// cannot succeed. A regular expression, so that calls this architecture
// does not have (open, rename on arm64) are no error.
const tracedCalls = `/^(fsync|fdatasync|sync_file_range|syncfs|sync|msync|open|openat|openat2|creat|` +
	`rename|renameat|renameat2|unlink|unlinkat|mkdir|mkdirat)$`

// markerPrefix names the probe's markers: mkdir below /dev/null fails with
// ENOTDIR whoever runs it, so a marker never touches the disk.
const markerPrefix = "/dev/null/durable-bench-marker/"

// event is one traced system call.
type event struct {
	call   string // the system call
	path   string // the file it acted on, absolute
	from   string // rename: the old path
	create bool   // an open with O_CREAT, or a mkdir
	dir    bool   // the path is known to be a directory
	failed bool
	marker string // "op-3", "end"
	window int    // 0 before the first operation, n during operation n, -1 after the last
}

// A problem is a durability gap the trace shows.
type problem struct {
	Level Level
	Text  string
}

// traceReport is what the trace shows about a contender.
type traceReport struct {
	Ops      int            // operations traced
	Steady   int            // operations the per-operation counts average over
	FileSync map[string]int // sync calls on files in the steady operations, by call
	DirSync  map[string]int // sync calls on directories in the steady operations, by call
	Other    map[string]int // sync_file_range, msync: flushes that are not a durability barrier
	Problems []problem
	Notes    []string // what is worth knowing but is no gap
}

// Level is the worst problem's level, Durable if there is none.
func (r traceReport) Level() Level {
	l := Durable
	for _, p := range r.Problems {
		l = worse(l, p.Level)
	}
	return l
}

var (
	linePID    = regexp.MustCompile(`^(\d+)\s+(.*)$`)
	resumed    = regexp.MustCompile(`^<\.\.\. (\w+) resumed>(.*)$`)
	fdPath     = regexp.MustCompile(`^\w+\(\d+<(.*?)>[,)]`)
	openResult = regexp.MustCompile(`^\d+<(.*)>$`)
	// pathArg is an optional directory descriptor and a quoted path, as
	// strace -y prints them: `AT_FDCWD</cwd>, "name"` or `"name"`.
	pathArg = regexp.MustCompile(`(?:(?:AT_FDCWD|\d+)<([^>]*)>, )?"((?:[^"\\]|\\.)*)"`)
)

// parseTrace reads the log strace -f -y writes with -o: one call per line,
// each after the thread's id, a call interrupted by another thread split
// into "<unfinished ...>" and "<... call resumed>" halves.
func parseTrace(r io.Reader) ([]event, error) {
	var calls []string
	pending := map[string]int{} // thread → index in calls of its unfinished call
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		pid := ""
		if m := linePID.FindStringSubmatch(line); m != nil {
			pid, line = m[1], m[2]
		}
		if strings.HasPrefix(line, "+++") || strings.HasPrefix(line, "---") {
			continue // exits and signals
		}
		if m := resumed.FindStringSubmatch(line); m != nil {
			if i, ok := pending[pid]; ok {
				calls[i] += m[2]
				delete(pending, pid)
			}
			continue
		}
		if head, ok := strings.CutSuffix(line, " <unfinished ...>"); ok {
			// The call is placed where it started: an operation's
			// calls start after its marker.
			pending[pid] = len(calls)
			calls = append(calls, head)
			continue
		}
		calls = append(calls, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	window := 0
	var evs []event
	for _, c := range calls {
		ev, ok := parseCall(c)
		if !ok {
			continue
		}
		if ev.marker != "" {
			if n, ok := strings.CutPrefix(ev.marker, "op-"); ok {
				window, _ = strconv.Atoi(n)
			} else {
				window = -1
			}
		}
		ev.window = window
		evs = append(evs, ev)
	}
	return evs, nil
}

// parseCall turns one complete call line into an event.
func parseCall(c string) (event, bool) {
	name, _, ok := strings.Cut(c, "(")
	if !ok {
		return event{}, false
	}
	ev := event{call: name}
	// The result follows the last " = " after the closing parenthesis,
	// which strace pads with spaces to a column.
	ret := ""
	if i := strings.LastIndex(c, " = "); i >= 0 && strings.HasSuffix(strings.TrimRight(c[:i], " "), ")") {
		ret = c[i+3:]
	}
	// A call that never returned (its thread died) acknowledged nothing.
	ev.failed = ret == "" || strings.HasPrefix(ret, "-1") || strings.HasPrefix(ret, "?")
	switch name {
	case "fsync", "fdatasync", "sync_file_range", "syncfs", "msync":
		if m := fdPath.FindStringSubmatch(c); m != nil {
			ev.path = m[1]
		}
	case "open", "openat", "openat2", "creat":
		if m := openResult.FindStringSubmatch(ret); m != nil {
			ev.path = m[1]
		}
		ev.create = name == "creat" || strings.Contains(c, "O_CREAT")
		ev.dir = strings.Contains(c, "O_DIRECTORY")
	case "rename", "renameat", "renameat2":
		args := pathArgs(c)
		if len(args) < 2 {
			return event{}, false
		}
		ev.from, ev.path = args[0], args[1]
	case "unlink", "unlinkat":
		args := pathArgs(c)
		if len(args) < 1 {
			return event{}, false
		}
		ev.path = args[0]
	case "mkdir", "mkdirat":
		args := pathArgs(c)
		if len(args) < 1 {
			return event{}, false
		}
		if m, ok := strings.CutPrefix(args[0], markerPrefix); ok {
			return event{call: name, marker: m}, true
		}
		ev.path, ev.create, ev.dir = args[0], true, true
	case "sync":
	default:
		return event{}, false
	}
	return ev, true
}

// pathArgs returns the quoted paths of a call, made absolute against the
// directory descriptor strace printed before each.
func pathArgs(c string) []string {
	var out []string
	for _, m := range pathArg.FindAllStringSubmatch(c, -1) {
		p, err := strconv.Unquote(`"` + m[2] + `"`)
		if err != nil {
			p = m[2]
		}
		if !filepath.IsAbs(p) && m[1] != "" {
			p = filepath.Join(m[1], p)
		}
		out = append(out, filepath.Clean(p))
	}
	return out
}

// analyze applies the rules of durability to a probe's events:
//
//  1. Every operation flushes some file (fsync or fdatasync) before it
//     returns. Otherwise nothing it wrote need survive a power cut.
//  2. A rename is followed, before the operation returns, by an fsync of
//     the directory it renamed into. Otherwise the old name can come back.
//  3. A file or directory that comes to hold flushed data is followed,
//     before the operation that first flushes it returns, by an fsync of
//     its parent directory. Otherwise the file itself can vanish, with
//     every operation acknowledged in it.
//
// Files renamed away or removed within the operation that created them
// are scratch (temp files, tests of $TMPDIR) and need nothing. What
// happens before the first operation (opening the library) counts as part
// of it: the first acknowledgment is what must not be lost.
func analyze(evs []event, isDir func(string) bool) traceReport {
	r := traceReport{FileSync: map[string]int{}, DirSync: map[string]int{}, Other: map[string]int{}}
	win := func(e event) int {
		if e.window == 0 {
			return 1
		}
		return e.window
	}
	dirs := map[string]bool{}
	for _, e := range evs {
		if e.dir && !e.failed {
			dirs[e.path] = true
		}
		if e.window > r.Ops {
			r.Ops = e.window
		}
	}
	directory := func(p string) bool { return dirs[p] || isDir(p) }
	syncs := func(e event) bool {
		return !e.failed && (e.call == "fsync" || e.call == "fdatasync")
	}
	// syncedDir reports whether dir is flushed after evs[i] and before
	// the end of operation w.
	syncedDir := func(i int, dir string, w int) bool {
		for _, e := range evs[i+1:] {
			if e.window == -1 || e.window > w {
				return false
			}
			if !e.failed && (e.call == "syncfs" || e.call == "sync" || syncs(e) && e.path == dir) {
				return true
			}
		}
		return false
	}
	// scratch reports whether p is renamed away or removed after evs[i]
	// within operation w.
	scratch := func(i int, p string, w int) bool {
		for _, e := range evs[i+1:] {
			if e.window == -1 || e.window > w {
				return false
			}
			removed := (e.call == "unlink" || e.call == "unlinkat") && e.path == p
			if !e.failed && (e.from == p || removed) {
				return true
			}
		}
		return false
	}

	// Counts, and rule 1.
	first := 2
	if r.Ops < 2 {
		first = 1
	}
	flushed := make([]int, r.Ops+1)
	for _, e := range evs {
		if e.window < 0 || e.failed {
			continue
		}
		// Setting up counts towards the first operation's rules,
		// never towards the per-operation counts.
		w, steady := win(e), e.window >= first
		switch {
		case syncs(e) && !directory(e.path):
			flushed[w]++
			if steady {
				r.FileSync[e.call]++
			}
		case syncs(e):
			if steady {
				r.DirSync[e.call]++
			}
		case e.call == "syncfs" || e.call == "sync":
			flushed[w]++
			if steady {
				r.FileSync[e.call]++
				r.DirSync[e.call]++
			}
		case e.call == "sync_file_range" || e.call == "msync":
			if steady {
				r.Other[e.call]++
			}
		}
	}
	r.Steady = r.Ops - first + 1
	if unflushed := countZero(flushed[1:]); unflushed > 0 {
		r.Problems = append(r.Problems, problem{NotDurable,
			fmt.Sprintf("no fsync or fdatasync of any file in %d of %d operations", unflushed, r.Ops)})
	}

	// Rules 2 and 3.
	firstFlush := map[string]int{} // path → operation that first flushes it
	for _, e := range evs {
		if syncs(e) && e.window >= 0 {
			if _, ok := firstFlush[e.path]; !ok {
				firstFlush[e.path] = win(e)
			}
		}
	}
	seen := map[string]bool{}
	for i, e := range evs {
		if e.window < 0 || e.failed || e.path == "" {
			continue
		}
		w := win(e)
		parent := filepath.Dir(e.path)
		switch {
		case e.from != "": // a rename
			if scratch(i, e.path, w) {
				continue
			}
			if !syncedDir(i, parent, w) {
				r.add(NotDurable, fmt.Sprintf("rename to %s not followed by an fsync of its directory", filepath.Base(e.path)))
			}
			if from := filepath.Dir(e.from); from != parent {
				r.note(fmt.Sprintf("renames into place from another directory, %s", from))
			}
		case e.create && !seen[e.path]:
			seen[e.path] = true
			fw, ok := firstFlush[e.path]
			if !ok && e.dir {
				fw, ok = firstFlushBelow(firstFlush, e.path)
			}
			if !ok || scratch(i, e.path, w) {
				continue
			}
			if !syncedDir(i, parent, max(w, fw)) {
				what := "file"
				if e.dir {
					what = "directory"
				}
				r.add(Partly, fmt.Sprintf("created %s %s without an fsync of its directory", what, filepath.Base(e.path)))
			}
		default:
			seen[e.path] = true
		}
	}
	return r
}

// firstFlushBelow returns the first operation that flushes a file below
// dir: a created directory matters when what it holds does.
func firstFlushBelow(firstFlush map[string]int, dir string) (int, bool) {
	best, ok := 0, false
	for p, w := range firstFlush {
		if strings.HasPrefix(p, dir+string(filepath.Separator)) && (!ok || w < best) {
			best, ok = w, true
		}
	}
	return best, ok
}

// add records a problem once.
func (r *traceReport) add(l Level, text string) {
	if !slices.Contains(r.Problems, problem{l, text}) {
		r.Problems = append(r.Problems, problem{l, text})
	}
}

// note records a note once.
func (r *traceReport) note(text string) {
	if !slices.Contains(r.Notes, text) {
		r.Notes = append(r.Notes, text)
	}
}

func countZero(n []int) int {
	z := 0
	for _, v := range n {
		if v == 0 {
			z++
		}
	}
	return z
}

// statDir is the isDir of a real run: the probe's directories still exist
// when its trace is read, its temp files mostly do not.
func statDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
