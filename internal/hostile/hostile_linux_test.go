//go:build linux

package hostile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/lock"
	"golang.org/x/sys/unix"
)

// The users. Numeric ids that need no account: the attacker plants, the
// user is the non-root caller.
const (
	attackerID = 64201
	userID     = 64202
)

// cmdTimeout bounds every command: one that runs longer hangs.
const cmdTimeout = 10 * time.Second

// family groups a verb with the names it creates or opens.
type family string

const (
	docFam     family = "doc"     // a file or store document
	jsonlFam   family = "jsonl"   // a JSON Lines file
	journalFam family = "journal" // a log's directory
	queueFam   family = "queue"   // a queue's directory
	keyFam     family = "key"     // log keygen's key pair
	allFam     family = "all"     // fsck: everything
)

// targets is the name the caller passes, per family.
var targets = map[family]string{
	docFam: "doc.json", jsonlFam: "log.jsonl", journalFam: "journal", queueFam: "queue", keyFam: "signer",
}

// A plant is a name durable creates or opens. The name is relative to
// the shared directory; "journal/x" is inside the log's directory, which
// the attacker then makes (0777, theirs).
type plant struct {
	fam  family
	name string
	// target: the name the caller passes. A link there is followed only
	// under the protected_symlinks rule: in the attacker's own sticky
	// directory it is followed, by design.
	target bool
}

// plants lists every name durable creates or opens, from the code that
// names them: durable's temp files (".name.<12 base32>.tmp", the token
// random, so these are guesses) and Backup ("name.bak"), lock.Suffix,
// store's backups, damaged and pre-migration copies (store/backup.go),
// jsonl.EvidenceInfix, the journal's segments, segment temp, lock,
// checkpoint and evidence directory (journal/segment.go), which a queue
// shares, and log keygen's pair. A new name is one line here.
var plants = []plant{
	{docFam, "doc.json", true},
	{docFam, ".doc.json.k3vq7ztm2xja.tmp", false},
	{docFam, ".doc.json.aaaaaaaaaaaa.tmp", false},
	{docFam, "doc.json" + lock.Suffix, false},
	{docFam, "doc.json.bak", false},
	{docFam, "doc.json.bak.1", false},
	{docFam, "doc.json.bak.2", false},
	{docFam, "doc.json.corrupt.2026-01-02T03-04-05.000Z", false},
	{docFam, "doc.json.pre-v1", false},
	{jsonlFam, "log.jsonl", true},
	{jsonlFam, "log.jsonl" + lock.Suffix, false},
	{jsonlFam, ".log.jsonl.k3vq7ztm2xja.tmp", false},
	{jsonlFam, "log.jsonl" + jsonl.EvidenceInfix + "1700000000000000000", false},
	{journalFam, "journal", true},
	{journalFam, "journal/00000000000000000000.seg", false},
	{journalFam, "journal/.00000000000000000000.seg.tmp", false},
	{journalFam, "journal/journal" + lock.Suffix, false},
	{journalFam, "journal/checkpoint", false},
	{journalFam, "journal/.checkpoint.k3vq7ztm2xja.tmp", false},
	{journalFam, "journal/evidence", false},
	{queueFam, "queue", true},
	{queueFam, "queue/00000000000000000000.seg", false},
	{queueFam, "queue/.00000000000000000000.seg.tmp", false},
	{queueFam, "queue/journal" + lock.Suffix, false},
	{queueFam, "queue/checkpoint", false},
	{queueFam, "queue/.checkpoint.k3vq7ztm2xja.tmp", false},
	{queueFam, "queue/evidence", false},
	{keyFam, "signer.key", false},
	{keyFam, "signer.pub", false},
	{keyFam, ".signer.key.k3vq7ztm2xja.tmp", false},
}

// The kinds of thing planted.
const (
	symlinkKind  = "symlink"  // to an existing victim (a file, or a directory for a directory's name)
	danglingKind = "dangling" // a symlink to a victim path that does not exist yet
	hardlinkKind = "hardlink" // to the victim file, on the same filesystem
	fifoKind     = "fifo"
	dirKind      = "dir"
)

var kinds = []string{symlinkKind, danglingKind, hardlinkKind, fifoKind, dirKind}

// A step is one command: the arguments after "durable". {F} is the
// target's path, {D} the shared directory, {ID} the first field the last
// command printed (a popped message's id), {KEY} a signing key of the
// caller's, {TRYLOCK} a command that fails if a victim is locked. "!tear"
// is no command: it tears the caller's JSON Lines file, as a crash would.
type step []string

type verbCase struct {
	name  string
	fam   family
	steps []step
}

var (
	storeSet     = step{"store", "set", "{F}", "a", "1"}
	jsonlAppend  = step{"jsonl", "append", "{F}", `{"a":1}`}
	logAppend    = step{"log", "append", "{F}", "record"}
	logCkpt      = step{"log", "checkpoint", "--key", "{KEY}", "{F}"}
	queuePush    = step{"queue", "push", "{F}", "job"}
	queuePop     = step{"queue", "pop", "--no-wait", "{F}"}
	writeFile    = step{"write", "{F}"}
	writeBackup  = step{"write", "--backup", "{F}"}
	writeMode    = step{"write", "--mode", "0640", "{F}"}
	storeIncr    = step{"store", "incr", "{F}", "n"}
	storeDelete  = step{"store", "delete", "{F}", "a"}
	fsckCheck    = step{"fsck", "{D}"}
	fsckFix      = step{"fsck", "--fix", "--grace", "1ns", "--older-than", "1ns", "{D}"}
	lockTryVicts = step{"lock", "--timeout", "2s", "{F}", "--", "{TRYLOCK}"}
)

// verbs lists every verb of cmd/durable that touches files, each run the
// way that reaches its sidecars (a second write makes the backup, a set
// on an existing document rotates backups). A new verb is one line here.
var verbs = []verbCase{
	{"write", docFam, []step{writeFile, writeFile}},
	{"write-backup", docFam, []step{writeBackup, writeBackup}},
	{"write-mode", docFam, []step{writeMode, writeMode}},
	{"store-set", docFam, []step{storeSet, storeSet, storeSet}},
	{"store-get", docFam, []step{storeSet, {"store", "get", "{F}"}}},
	{"store-incr", docFam, []step{storeIncr, storeIncr}},
	{"store-delete", docFam, []step{storeSet, storeDelete}},
	{"edit", docFam, []step{storeSet, {"edit", "{F}"}}},
	{"lock", docFam, []step{lockTryVicts}},
	{"jsonl-append", jsonlFam, []step{jsonlAppend, jsonlAppend}},
	{"jsonl-repair", jsonlFam, []step{jsonlAppend, {"!tear"}, {"jsonl", "repair", "{F}"}}},
	{"log-keygen", keyFam, []step{{"log", "keygen", "{F}"}}},
	{"log-append", journalFam, []step{logAppend, logAppend}},
	{"log-cat", journalFam, []step{logAppend, {"log", "cat", "{F}"}}},
	{"log-tail", journalFam, []step{logAppend, {"log", "tail", "{F}"}}},
	{"log-verify", journalFam, []step{logAppend, {"log", "verify", "{F}"}}},
	{"log-checkpoint", journalFam, []step{logAppend, logCkpt}},
	{"log-proof", journalFam, []step{logAppend, logCkpt, {"log", "proof", "{F}", "0"}}},
	{"queue-push", queueFam, []step{queuePush, queuePush}},
	{"queue-pop", queueFam, []step{queuePush, queuePop}},
	{"queue-ack", queueFam, []step{queuePush, queuePop, {"queue", "ack", "{F}", "{ID}"}}},
	{"queue-nack", queueFam, []step{queuePush, queuePop, {"queue", "nack", "{F}", "{ID}"}}},
	{"queue-ls", queueFam, []step{queuePush, {"queue", "ls", "{F}"}}},
	{"queue-dead", queueFam, []step{queuePush, {"queue", "dead", "{F}"}}},
	{"fsck", allFam, []step{fsckCheck}},
	{"fsck-fix", allFam, []step{fsckFix}},
}

// A place is where the shared directory is: root's sticky 1777 directory,
// like /tmp, or a sticky 1777 directory the attacker owns.
type place struct {
	name  string
	owner int
}

var places = []place{{"sticky", 0}, {"attacker-owned", attackerID}}

// A caller runs the verbs.
type caller struct {
	name string
	uid  int
}

var callers = []caller{{"root", 0}, {"user", userID}}

// trylockEnv makes the test binary the lock verb's COMMAND: it reports
// the victims some process holds a lock on, while durable holds its own.
const trylockEnv = "DURABLE_HOSTILE_TRYLOCK"

func TestMain(m *testing.M) {
	if os.Getenv(trylockEnv) == "1" {
		code := 0
		for _, p := range os.Args[1:] {
			if isLocked(p) {
				fmt.Printf("locked: %s\n", p)
				code = 99
			}
		}
		os.Exit(code)
	}
	// The commands mostly wait for their children: run more of them at
	// once than there are cores, unless told otherwise.
	flag.Parse()
	if f := flag.Lookup("test.parallel"); f != nil && f.Value.String() == fmt.Sprint(runtime.GOMAXPROCS(0)) {
		f.Value.Set("8")
	}
	os.Exit(m.Run())
}

// suite is what every case shares: the built command and the callers'
// homes.
type suite struct {
	base string // 0755, root's
	bin  string
	// trylock is a copy of the test binary that other users can run.
	trylock string
	seq     atomic.Int64
	key     map[int]string // a signing key per caller, in their private home
	home    map[int]string
}

func TestHostileNeighbour(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("the hostile-neighbour suite runs as root (CI does): it plants as one uid and runs durable as root and as another uid")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build cmd/durable")
	}
	s := newSuite(t)
	for _, pl := range places {
		for _, c := range callers {
			t.Run(pl.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				for _, v := range verbs {
					t.Run(v.name, func(t *testing.T) {
						for _, k := range kinds {
							t.Run(k, func(t *testing.T) {
								t.Parallel()
								s.verbKind(t, pl, c, v, k)
							})
						}
					})
				}
			})
		}
	}
}

func newSuite(t *testing.T) *suite {
	// tmpfs where there is one: the verbs fsync, and what is tested is
	// names and modes, not the disk.
	parent := ""
	var sfs syscall.Statfs_t
	if syscall.Statfs("/dev/shm", &sfs) == nil && sfs.Type == 0x01021994 && syscall.Access("/dev/shm", 0o7) == nil {
		parent = "/dev/shm"
	}
	base, err := os.MkdirTemp(parent, "durable-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	must(t, os.Chmod(base, 0o755))
	s := &suite{base: base, key: map[int]string{}, home: map[int]string{}}
	bindir := filepath.Join(base, "bin")
	must(t, os.Mkdir(bindir, 0o755))
	s.bin = filepath.Join(bindir, "durable")
	build := exec.Command("go", "build", "-o", s.bin, "github.com/durable-go/durable/cmd/durable")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	s.trylock = filepath.Join(bindir, "trylock")
	must(t, os.WriteFile(s.trylock, exe, 0o755))
	editor := "#!/bin/sh\nprintf '{\"edited\":true}\\n' > \"$1\"\n"
	must(t, os.WriteFile(filepath.Join(bindir, "editor"), []byte(editor), 0o755))
	for _, c := range callers {
		home := filepath.Join(base, "home-"+c.name)
		must(t, os.Mkdir(home, 0o700))
		must(t, os.Chown(home, c.uid, c.uid))
		s.home[c.uid] = home
		key := filepath.Join(home, "k")
		if r := s.exec(c.uid, home, []string{"log", "keygen", key}); r.err != nil {
			t.Fatalf("log keygen as %s: %v\n%s", c.name, r.err, r.out)
		}
		s.key[c.uid] = key + ".key"
	}
	return s
}

// A scene is one case's directories.
type scene struct {
	root    string // 0755, root's
	shared  string // where the caller works and the attacker plants
	victims string // root's, 0755: nothing here may change
	// links maps a planted link to the victim path it points at.
	links map[string]string
}

func (s *suite) newScene(t *testing.T, pl place) *scene {
	root := filepath.Join(s.base, fmt.Sprint(s.seq.Add(1)))
	sc := &scene{root: root, shared: filepath.Join(root, "shared"), victims: filepath.Join(root, "victims"), links: map[string]string{}}
	must(t, os.Mkdir(root, 0o755))
	must(t, os.Mkdir(sc.victims, 0o755))
	must(t, os.Mkdir(sc.shared, 0o777))
	must(t, os.Chmod(sc.shared, 0o777|fs.ModeSticky))
	must(t, os.Chown(sc.shared, pl.owner, pl.owner))
	return sc
}

// victimName turns a planted name into a victim's file name.
func victimName(name string) string {
	return strings.ReplaceAll(strings.TrimPrefix(name, "."), "/", "_")
}

// plantAt makes p.name in the shared directory a thing of kind k, owned by
// the attacker, pointing at victims of its own (a file, a directory with a
// file in it, or a path that does not exist yet).
func (sc *scene) plantAt(t *testing.T, p plant, k string) {
	path := filepath.Join(sc.shared, p.name)
	if dir := filepath.Dir(p.name); dir != "." {
		d := filepath.Join(sc.shared, dir)
		if _, err := os.Lstat(d); err != nil {
			must(t, os.Mkdir(d, 0o777))
			must(t, os.Chmod(d, 0o777))
			must(t, os.Lchown(d, attackerID, attackerID))
		}
	}
	v := filepath.Join(sc.victims, victimName(p.name))
	content := `{"access_token":"the victim's"}` + "\n"
	if p.fam == jsonlFam {
		content = `{"a":1}` + "\n" + `{"b":` // torn: a repair would cut it
	}
	must(t, os.WriteFile(v, []byte(content), 0o644))
	must(t, os.Mkdir(v+".d", 0o755))
	must(t, os.WriteFile(filepath.Join(v+".d", "inner"), []byte("inner"), 0o644))
	// A directory's name gets a link to a directory.
	isDir := p.name == targets[journalFam] || p.name == targets[queueFam] || strings.HasSuffix(p.name, "/evidence")
	switch k {
	case symlinkKind:
		to := v
		if isDir {
			to = v + ".d"
		}
		must(t, os.Symlink(to, path))
		sc.links[path] = to
	case danglingKind:
		must(t, os.Symlink(v+".new", path))
		sc.links[path] = v + ".new"
	case hardlinkKind:
		// Root plants it: protected_hardlinks stops the attacker here,
		// but not on macOS or FreeBSD, nor for a victim they can write.
		must(t, os.Link(v, path))
		return
	case fifoKind:
		must(t, syscall.Mkfifo(path, 0o666))
	case dirKind:
		must(t, os.Mkdir(path, 0o777))
	}
	must(t, os.Lchown(path, attackerID, attackerID))
	if k == fifoKind || k == dirKind {
		must(t, os.Chmod(path, 0o777))
	}
}

// An outcome is what one run of a verb's steps did to the victims.
type outcome struct {
	hung   string   // the step that hung, if one did
	diffs  []string // "path: what changed"
	locked []string // victims found locked, during or after a step
	log    []string // the steps run and what they printed
}

// about keeps what of o concerns the victims of the planted name p: a
// test fails for its own name only.
func (o *outcome) about(sc *scene, p plant) (diffs, locked []string) {
	v := filepath.Join(sc.victims, victimName(p.name))
	mine := func(s string) bool {
		for _, own := range []string{v + ":", v + ".d:", v + ".d/", v + ".new:", v + ".new/"} {
			if strings.HasPrefix(s+":", own) || strings.HasPrefix(s, own) {
				return true
			}
		}
		return false
	}
	for _, d := range o.diffs {
		if mine(d) {
			diffs = append(diffs, d)
		}
	}
	for _, l := range o.locked {
		if path, _, _ := strings.Cut(l, " ("); mine(path) {
			locked = append(locked, l)
		}
	}
	return diffs, locked
}

// run plants ps as kind k, runs v's steps as c and records what happened
// to the victims after every step. It stops at a step that hangs.
func (s *suite) run(t *testing.T, pl place, c caller, v verbCase, k string, ps []plant) (*scene, *outcome) {
	sc := s.newScene(t, pl)
	for _, p := range ps {
		sc.plantAt(t, p, k)
	}
	before := snapshot(sc.victims)
	target := filepath.Join(sc.shared, targets[v.fam])
	if v.fam == allFam {
		target = ""
	}
	// Following the target is by design where the kernel would follow it:
	// the link's owner (the attacker) owns the sticky directory. What it
	// points at may then be written, never chmod-ed or chown-ed.
	follow := ""
	if to, ok := sc.links[target]; ok && pl.owner == attackerID {
		follow = to
	}
	// A journal preallocates its segments (64 MiB each, in memory on
	// tmpfs): nothing of a scene is needed once its outcome is recorded.
	defer os.RemoveAll(sc.root)
	o := &outcome{}
	last := ""
	for i, st := range v.steps {
		if st[0] == "!tear" {
			tear(target, c.uid)
			continue
		}
		args := s.expand(st, sc, c, target, last)
		r := s.exec(c.uid, sc.shared, args)
		last = r.out
		what := fmt.Sprintf("step %d: durable %s (as %s, exit %d)", i+1, strings.Join(args, " "), c.name, r.code)
		o.log = append(o.log, what+"\n"+indent(r.out))
		for _, line := range strings.Split(r.out, "\n") {
			if l, ok := strings.CutPrefix(line, "locked: "); ok {
				o.locked = append(o.locked, l+" (while durable held its lock, "+what+")")
			}
		}
		if r.hung {
			o.hung = what
			break
		}
		for _, d := range diff(before, snapshot(sc.victims), follow) {
			if !slices.Contains(o.diffs, d) {
				o.diffs = append(o.diffs, d+" (after "+what+")")
			}
		}
		for _, l := range lockedVictims(sc.victims) {
			o.locked = append(o.locked, l+" (after "+what+")")
		}
		before = snapshot(sc.victims)
	}
	return sc, o
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// verbKind runs verb v with every name of its family planted as kind k.
// The target and the lock are planted alone (what is planted there decides
// whether the other names are reached at all); the other names are
// planted together, each with victims of its own so that what happens to
// them is told apart, and run one by one only when that run hangs, to say
// which name hangs. (Where a planted name makes a step fail, a name the
// step would have reached after it is not tried in that run: the price of
// a suite that runs in CI time.) fsck plants everything at once. Each name
// is a subtest of its own.
func (s *suite) verbKind(t *testing.T, pl place, c caller, v verbCase, k string) {
	var alone, together []plant
	for _, p := range plants {
		switch {
		case v.fam != allFam && p.fam != v.fam:
		case v.fam != allFam && (p.target || strings.HasSuffix(p.name, lock.Suffix)):
			alone = append(alone, p)
		default:
			together = append(together, p)
		}
	}
	type result struct {
		sc *scene
		o  *outcome
	}
	results := map[string]result{}
	for _, p := range alone {
		sc, o := s.run(t, pl, c, v, k, []plant{p})
		results[p.name] = result{sc, o}
	}
	if len(together) > 0 {
		sc, o := s.run(t, pl, c, v, k, together)
		for _, p := range together {
			results[p.name] = result{sc, o}
		}
		if o.hung != "" && len(together) > 1 {
			for _, p := range together {
				sc, o := s.run(t, pl, c, v, k, []plant{p})
				results[p.name] = result{sc, o}
			}
		}
	}
	for _, p := range slices.Concat(alone, together) {
		t.Run(p.name, func(t *testing.T) {
			r := results[p.name]
			if r.o.hung != "" {
				t.Errorf("hung (killed after %v) with a %s planted at %s: %s\n%s", cmdTimeout, k, p.name, r.o.hung, strings.Join(r.o.log, "\n"))
				return
			}
			diffs, locked := r.o.about(r.sc, p)
			if len(diffs) > 0 {
				t.Errorf("with a %s planted at %s, durable changed what is outside the caller's files:\n  %s\n%s", k, p.name, strings.Join(diffs, "\n  "), strings.Join(r.o.log, "\n"))
			}
			if len(locked) > 0 {
				t.Errorf("with a %s planted at %s, durable locked a victim:\n  %s\n%s", k, p.name, strings.Join(locked, "\n  "), strings.Join(r.o.log, "\n"))
			}
		})
	}
}

// expand fills in a step's placeholders.
func (s *suite) expand(st step, sc *scene, c caller, target, last string) []string {
	var out []string
	for _, a := range st {
		switch a {
		case "{F}":
			out = append(out, target)
		case "{D}":
			out = append(out, sc.shared)
		case "{KEY}":
			out = append(out, s.key[c.uid])
		case "{ID}":
			id, _, _ := strings.Cut(strings.TrimSpace(last), "\t")
			out = append(out, id)
		case "{TRYLOCK}":
			out = append(out, "/usr/bin/env", trylockEnv+"=1", s.trylock)
			out = append(out, victimFiles(sc.victims)...)
		default:
			out = append(out, a)
		}
	}
	return out
}

// tear appends half a line to the caller's JSON Lines file, as a crash
// in the middle of an append leaves it. Anything else planted there (a
// hard link to a victim is a regular file too) is left alone.
func tear(path string, uid int) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().IsRegular() && st.Uid == uint32(uid) && st.Nlink == 1 {
		f.Write([]byte(`{"torn":`))
	}
}

type result struct {
	out  string
	code int
	hung bool
	err  error
}

// exec runs durable as uid in dir, with stdin, under cmdTimeout.
func (s *suite) exec(uid int, dir string, args []string) result {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("line\n")
	home := s.home[uid]
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home, "TMPDIR=" + home,
		"EDITOR=" + filepath.Join(filepath.Dir(s.bin), "editor"), "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if uid != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	r := result{out: buf.String(), err: err, hung: ctx.Err() != nil}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	}
	return r
}

// An entry is what is compared of a victim: everything but its times of
// access and status change and its link count (a hard link planted or
// removed changes those).
type entry struct {
	mode     fs.FileMode
	uid, gid uint32
	size     int64
	mtime    time.Time
	sum      [32]byte
	target   string
}

func snapshot(dir string) map[string]entry {
	m := map[string]entry{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := entry{mode: fi.Mode(), uid: st.Uid, gid: st.Gid, mtime: fi.ModTime(), size: fi.Size()}
		switch {
		case fi.Mode().IsRegular():
			if b, err := os.ReadFile(p); err == nil {
				e.sum = sha256.Sum256(b)
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			e.target, _ = os.Readlink(p)
		case fi.IsDir():
			e.size = 0 // a directory's size says nothing
		}
		m[p] = e
		return nil
	})
	return m
}

// diff lists what changed between two snapshots. Below follow (a link
// target the caller may follow by design) content may change and files
// may appear, but no existing file's mode or owner may change.
func diff(before, after map[string]entry, follow string) []string {
	var out []string
	allowed := func(p string) bool {
		return follow != "" && (p == follow || strings.HasPrefix(p, follow+"/"))
	}
	for p, a := range after {
		b, ok := before[p]
		switch {
		case !ok && !allowed(p):
			out = append(out, fmt.Sprintf("%s: created (mode %v, owner %d:%d)", p, a.mode, a.uid, a.gid))
		case !ok:
		case a.mode != b.mode:
			out = append(out, fmt.Sprintf("%s: mode %v -> %v", p, b.mode, a.mode))
		case a.uid != b.uid || a.gid != b.gid:
			out = append(out, fmt.Sprintf("%s: owner %d:%d -> %d:%d", p, b.uid, b.gid, a.uid, a.gid))
		case allowed(p):
		case a.sum != b.sum || a.size != b.size:
			out = append(out, fmt.Sprintf("%s: content changed (%d -> %d bytes)", p, b.size, a.size))
		case !a.mtime.Equal(b.mtime) && !b.mode.IsDir():
			out = append(out, fmt.Sprintf("%s: modified (mtime)", p))
		case !a.mtime.Equal(b.mtime):
			out = append(out, fmt.Sprintf("%s: entries created or removed in it", p))
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok && !allowed(p) {
			out = append(out, p+": removed")
		}
	}
	slices.Sort(out)
	return out
}

// victimFiles lists the regular files among the victims.
func victimFiles(dir string) []string {
	var out []string
	for p, e := range snapshot(dir) {
		if e.mode.IsRegular() {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// lockedVictims lists victims some process holds a lock on.
func lockedVictims(dir string) []string {
	var out []string
	for _, p := range victimFiles(dir) {
		if isLocked(p) {
			out = append(out, p)
		}
	}
	return out
}

// isLocked reports whether a process holds a lock of either kind package
// lock may take on p: an open file description lock (fcntl F_OFD_SETLK,
// which F_OFD_GETLK reports, with POSIX record locks) or a flock.
func isLocked(p string) bool {
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	if unix.FcntlFlock(uintptr(fd), unix.F_OFD_GETLK, &lk) == nil && lk.Type != unix.F_UNLCK {
		return true
	}
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err == syscall.EWOULDBLOCK {
		return true
	} else if err == nil {
		syscall.Flock(fd, syscall.LOCK_UN)
	}
	return false
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
