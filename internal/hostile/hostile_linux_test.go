//go:build linux

package hostile

import (
	"bytes"
	"context"
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

	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/store"
)

// The users. Numeric ids that need no account: the attacker plants, the
// user is the non-root caller.
const (
	attackerID = 64201
	userID     = 64202
)

// cmdTimeout bounds every command: one that runs longer hangs.
const cmdTimeout = 10 * time.Second

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
	// (The store's patch log is a journal: the names inside it are the
	// journal family's, planted there.)
	isDir := p.name == targets[journalFam] || p.name == targets[queueFam] || strings.HasSuffix(p.name, "/evidence") ||
		store.IsLogName(p.name)
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
	// A verb that gives the file a mode the caller chose (write --mode)
	// gives it to a target followed by design too.
	setsMode := slices.ContainsFunc(v.steps, func(s step) bool { return slices.Contains(s, "--mode") })
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
		for _, d := range diff(before, snapshot(sc.victims), follow, setsMode) {
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
		case v.fam == allFam && p.target && parentOfPlant(p.name):
			// fsck plants everything at once: a log's directory is
			// the attacker's, made by the names planted in it.
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

// parentOfPlant reports whether another plant's name is inside name.
func parentOfPlant(name string) bool {
	for _, p := range plants {
		if strings.HasPrefix(p.name, name+"/") {
			return true
		}
	}
	return false
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

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
