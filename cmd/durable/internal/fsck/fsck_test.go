package fsck

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/queue"
	"github.com/durable-go/durable/store"
)

const segSize = 4096 // the smallest segment, so that tests stay small

func write(t *testing.T, path string, data string, perm fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
}

// newJournal makes a journal in dir with n batches of one record each.
func newJournal(t *testing.T, dir string, records ...string) {
	t.Helper()
	j, err := journal.Open(dir, &journal.Options{SegmentSize: segSize})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for _, r := range records {
		if _, err := j.Append(context.Background(), []byte(r)); err != nil {
			t.Fatal(err)
		}
	}
}

// tearTail writes garbage after the last frame of dir's last segment, as
// a crash in the middle of a batch's write can leave.
func tearTail(t *testing.T, dir string) {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	slices.Sort(segs)
	seg := segs[len(segs)-1]
	data := []byte(testdir.ReadString(t, seg))
	end := len(data)
	for end > 0 && data[end-1] == 0 {
		end--
	}
	end = (end + 7) &^ 7
	f, err := os.OpenFile(seg, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xab}, 40), int64(end)); err != nil {
		t.Fatal(err)
	}
}

// flipIn flips a byte of the first occurrence of s in dir's first segment.
func flipIn(t *testing.T, dir, s string) {
	t.Helper()
	seg := filepath.Join(dir, "00000000000000000000.seg")
	data := []byte(testdir.ReadString(t, seg))
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		t.Fatalf("%q not in %s", s, seg)
	}
	data[i] ^= 0x20
	if err := os.WriteFile(seg, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func signer(t *testing.T) note.Signer {
	t.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, "test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// snapshot describes every file and directory under root: mode, size,
// modification time and content hash. Check without Fix must leave it
// exactly as it was.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			m[p] = "error " + err.Error()
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		s := fmt.Sprintf("%v %d %v", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			if b, err := os.ReadFile(p); err == nil {
				s += fmt.Sprintf(" %x", sha256.Sum256(b))
			}
		}
		m[p] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diffSnapshots(before, after map[string]string) []string {
	var d []string
	for p, s := range before {
		if a, ok := after[p]; !ok {
			d = append(d, "removed "+p)
		} else if a != s {
			d = append(d, fmt.Sprintf("changed %s: %s -> %s", p, s, a))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			d = append(d, "created "+p)
		}
	}
	slices.Sort(d)
	return d
}

// find returns the finding of kind for path, or nil.
func find(rep *Report, path string, kind Kind) *Finding {
	for i, f := range rep.Findings {
		if f.Path == path && f.Kind == kind {
			return &rep.Findings[i]
		}
	}
	return nil
}

func dump(rep *Report) string {
	var b strings.Builder
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "  %s %s problem=%v fixable=%v fixed=%v %s | %s | %s %s\n", f.Kind, f.Path, f.Problem, f.Fixable, f.Fixed, f.Detail, f.Action, f.Result, f.FixError)
	}
	return b.String()
}

// later is a clock two hours ahead, so that every file looks old enough
// to be judged.
func later() time.Time { return time.Now().Add(2 * time.Hour) }

// seeded is a directory with one of each problem, and what fsck must say
// about each.
type seeded struct {
	root     string
	want     []want
	untouch  []string // paths --fix must leave exactly as they are
	heldOpen *os.File
}

type want struct {
	path    string
	kind    Kind
	problem bool
	fixable bool
}

func seed(t *testing.T) *seeded {
	root := testdir.New(t)
	s := &seeded{root: root}
	p := func(parts ...string) string { return filepath.Join(append([]string{root}, parts...)...) }
	add := func(path string, kind Kind, problem, fixable bool) {
		s.want = append(s.want, want{path, kind, problem, fixable})
	}

	// Temp files: one whose writer is gone, one a process has open.
	write(t, p(".a.json.abcdefghijkl.tmp"), `{"half":`, 0o644)
	add(p(".a.json.abcdefghijkl.tmp"), OrphanedTemp, true, true)
	write(t, p(".b.json.bcdefghijk23.tmp"), `{"writing":`, 0o644)
	f, err := os.Open(p(".b.json.bcdefghijk23.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	s.heldOpen = f
	// A name that only looks like a temp file is nobody's business.
	write(t, p(".notours.tmp"), "x", 0o644)
	// A lock sidecar is normal.
	write(t, p("cfg.json.lock"), "", 0o644)

	// A corrupt document with a good backup, one with none, a corrupt
	// backup.
	write(t, p("cfg.json"), `{"port": 80, "na`, 0o644)
	write(t, p("cfg.json.bak.1"), `{"port": 79}`+"\n", 0o644)
	add(p("cfg.json"), CorruptDocument, true, true)
	write(t, p("zeros.json"), "\x00\x00\x00\x00", 0o644)
	add(p("zeros.json"), CorruptDocument, true, false)
	s.untouch = append(s.untouch, p("zeros.json"))
	write(t, p("state"), `{"n": 1}`, 0o644) // no .json: a document by its backups and lock
	write(t, p("state.lock"), "", 0o644)
	// Another tool's backups, with no lock of the store beside them:
	// neither the file nor its backup is a store document.
	write(t, p("nginx.conf"), "server {", 0o644)
	write(t, p("nginx.conf.bak.1"), "server {}", 0o644)
	write(t, p("notes.corrupt.txt"), "?", 0o644)
	write(t, p("state.bak.1"), `{"n": 0`, 0o644)
	write(t, p("state.bak.2"), `{"n": -1}`, 0o644)
	add(p("state.bak.1"), CorruptBackup, true, false)
	s.untouch = append(s.untouch, p("state"), p("state.bak.1"), p("state.bak.2"))

	// Kept damaged copies: one stale, one recent.
	write(t, p("state.corrupt.2020-01-02T03-04-05.000Z"), "{", 0o644)
	add(p("state.corrupt.2020-01-02T03-04-05.000Z"), StaleCorrupt, true, false)
	recent := "state.corrupt." + time.Now().UTC().Format("2006-01-02T15-04-05.000Z")
	write(t, p(recent), "{", 0o644)
	add(p(recent), KeptCorrupt, false, false)
	s.untouch = append(s.untouch, p("state.corrupt.2020-01-02T03-04-05.000Z"), p(recent))

	// JSON Lines: a torn tail; corrupt lines in the middle (and a torn
	// tail, which is then not fixable); stale evidence.
	write(t, p("log", "t.jsonl"), "{\"a\":1}\n{\"b\":", 0o644)
	add(p("log", "t.jsonl"), TornJSONL, true, true)
	write(t, p("log", "c.jsonl"), "{\"a\":1}\nnot json\n{\"b\":2}\n{\"c\":", 0o644)
	add(p("log", "c.jsonl"), CorruptJSONL, true, false)
	add(p("log", "c.jsonl"), TornJSONL, true, false)
	s.untouch = append(s.untouch, p("log", "c.jsonl"))
	old := time.Now().Add(-30 * 24 * time.Hour).UnixNano()
	write(t, p("log", fmt.Sprintf("t.jsonl.torn.%d", old)), `{"x":`, 0o644)
	add(p("log", fmt.Sprintf("t.jsonl.torn.%d", old)), StaleCorrupt, true, false)

	// Journals: torn, corrupt in the middle, tampered.
	newJournal(t, p("j-torn"), "one", "two")
	tearTail(t, p("j-torn"))
	add(p("j-torn"), TornJournal, true, true)
	newJournal(t, p("j-corrupt"), "first", "second", "third")
	flipIn(t, p("j-corrupt"), "first")
	add(p("j-corrupt"), CorruptJournal, true, false)
	s.untouch = append(s.untouch, p("j-corrupt", "00000000000000000000.seg"))
	// One changed byte in the last batch: damage, not a torn tail.
	newJournal(t, p("j-lastflip"), "first", "last one")
	flipIn(t, p("j-lastflip"), "last one")
	add(p("j-lastflip"), CorruptJournal, true, false)
	s.untouch = append(s.untouch, p("j-lastflip", "00000000000000000000.seg"))
	newJournal(t, p("j-tampered"), "a", "b")
	newJournal(t, p("j-other"), "c")
	j, err := journal.Open(p("j-other"), &journal.Options{SegmentSize: segSize})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Checkpoint(context.Background(), signer(t)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	write(t, p("j-tampered", "checkpoint"), testdir.ReadString(t, p("j-other", "checkpoint")), 0o644)
	add(p("j-tampered"), TamperedJournal, true, false)
	s.untouch = append(s.untouch, p("j-tampered", "checkpoint"), p("j-tampered", "00000000000000000000.seg"))

	// Queues: torn; an event the queue does not know.
	q, err := queue.Open(p("q-torn"), &queue.Options{SegmentSize: segSize})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Push(context.Background(), []byte("job")); err != nil {
		t.Fatal(err)
	}
	q.Close()
	tearTail(t, p("q-torn"))
	add(p("q-torn"), TornQueue, true, true)
	// Three acknowledged messages in the last batch, one byte changed:
	// corrupt, and nothing is cut.
	q, err = queue.Open(p("q-lastflip"), &queue.Options{SegmentSize: segSize})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Push(context.Background(), []byte("msg zero")); err != nil {
		t.Fatal(err)
	}
	if _, err := q.PushBatch(context.Background(), [][]byte{[]byte("msg one"), []byte("msg two"), []byte("msg three")}); err != nil {
		t.Fatal(err)
	}
	q.Close()
	flipIn(t, p("q-lastflip"), "msg two")
	// (Reported as a journal: fsck tells a queue by reading its records,
	// and the log refuses to be read past the damage.)
	add(p("q-lastflip"), CorruptJournal, true, false)
	s.untouch = append(s.untouch, p("q-lastflip", "00000000000000000000.seg"))
	newJournal(t, p("q-bad"), "\x01\x01job", "\x01\x63")
	add(p("q-bad"), CorruptQueue, true, false)
	s.untouch = append(s.untouch, p("q-bad", "00000000000000000000.seg"))

	if checkModes {
		// Secrets: an oauth token file and its backup readable by others;
		// a private document with a backup more open than it; a private
		// key; a directory others may write with a secret in it.
		tokens := `{"accounts": {"github": {"access_token": "gho_x", "refresh_token": "r"}}}`
		write(t, p("tokens.json"), tokens, 0o644)
		write(t, p("tokens.json.bak.1"), tokens, 0o640)
		add(p("tokens.json"), InsecureSecret, true, true)
		add(p("tokens.json.bak.1"), InsecureSecret, true, true)
		write(t, p("priv.json"), `{"x": 1}`, 0o600)
		write(t, p("priv.json.bak.1"), `{"x": 0}`, 0o644)
		add(p("priv.json.bak.1"), InsecureSecret, true, true)
		write(t, p("audit.key"), "PRIVATE+KEY+test+abcdef+AAAA\n", 0o644)
		add(p("audit.key"), InsecureSecret, true, true)
		write(t, p("audit.pub"), "test+abcdef+AAAA\n", 0o644) // public: fine
		write(t, p("shared", "app.key"), "PRIVATE+KEY+test+abcdef+AAAA\n", 0o600)
		if err := os.Chmod(p("shared"), 0o777); err != nil {
			t.Fatal(err)
		}
		add(p("shared"), InsecureDir, true, false)
		s.untouch = append(s.untouch, p("shared"))
		// Sticky directories, like /tmp, are fine.
		write(t, p("sticky", "app.key"), "PRIVATE+KEY+test+abcdef+AAAA\n", 0o600)
		if err := os.Chmod(p("sticky"), 0o777|fs.ModeSticky); err != nil {
			t.Fatal(err)
		}
		// Not secrets: a plain config others may read.
		write(t, p("plain.json"), `{"theme": "dark", "token_count": 3}`, 0o644)
	}
	return s
}

// check runs Check on the seeded directory with the test's clock and a
// process scan that sees the held-open temp file.
func (s *seeded) check(t *testing.T, fix bool) *Report {
	t.Helper()
	o := &Options{Fix: fix, Now: later, openFiles: func() *openFiles {
		of := &openFiles{ok: true, open: map[fileID]bool{}, hidden: map[uint32]int{}}
		fi, err := s.heldOpen.Stat()
		if err != nil {
			t.Fatal(err)
		}
		id, _, ok := fileIdentity(fi)
		if !ok {
			return &openFiles{why: "no identity here"}
		}
		of.open[id] = true
		return of
	}}
	rep, err := Check(context.Background(), []string{s.root}, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestCheckFindsEachProblem(t *testing.T) {
	s := seed(t)
	before := snapshot(t, s.root)
	rep := s.check(t, false)
	if d := diffSnapshots(before, snapshot(t, s.root)); len(d) > 0 {
		t.Fatalf("Check without Fix changed the disk:\n%s", strings.Join(d, "\n"))
	}
	for _, w := range s.want {
		f := find(rep, w.path, w.kind)
		if f == nil {
			t.Errorf("no %s finding for %s", w.kind, w.path)
			continue
		}
		if f.Problem != w.problem || f.Fixable != w.fixable || f.Fixed || f.Detail == "" || f.Action == "" {
			t.Errorf("%s %s: problem=%v fixable=%v fixed=%v, want problem=%v fixable=%v; %q %q",
				w.kind, w.path, f.Problem, f.Fixable, f.Fixed, w.problem, w.fixable, f.Detail, f.Action)
		}
	}
	// The open temp file is a notice where fsck can tell it is open.
	held := s.heldOpen.Name()
	if _, _, ok := fileIdentity(mustStat(t, held)); ok {
		if f := find(rep, held, ActiveTemp); f == nil || f.Problem {
			t.Errorf("the open temp file: %+v", f)
		}
	}
	// Nothing else: no finding that is not expected.
	for _, f := range rep.Findings {
		expected := f.Path == held
		for _, w := range s.want {
			expected = expected || w.path == f.Path && w.kind == f.Kind
		}
		if !expected {
			t.Errorf("unexpected finding %s %s: %s", f.Kind, f.Path, f.Detail)
		}
	}
	if rep.Checked.Journals != 6 || rep.Checked.Queues != 2 || rep.Checked.JSONL != 2 || rep.Checked.Temps != 2 {
		t.Errorf("checked %+v", rep.Checked)
	}
	if t.Failed() {
		t.Logf("findings:\n%s", dump(rep))
	}
}

func mustStat(t *testing.T, p string) fs.FileInfo {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

func TestFixRepairsOnlyWhatIsSafe(t *testing.T) {
	s := seed(t)
	p := func(parts ...string) string { return filepath.Join(append([]string{s.root}, parts...)...) }
	kept := map[string]string{}
	for _, u := range s.untouch {
		kept[u] = fmt.Sprint(mustStat(t, u).Mode()) + read2(u)
	}
	rep := s.check(t, true)
	for _, w := range s.want {
		f := find(rep, w.path, w.kind)
		if f == nil {
			t.Errorf("no %s finding for %s", w.kind, w.path)
			continue
		}
		if f.Fixed != w.fixable || f.FixError != "" {
			t.Errorf("%s %s: fixed=%v (%s), want fixed=%v", w.kind, w.path, f.Fixed, f.FixError, w.fixable)
		}
	}
	if t.Failed() {
		t.Logf("findings:\n%s", dump(rep))
	}
	// What is not safe to fix is exactly as it was.
	for _, u := range s.untouch {
		if got := fmt.Sprint(mustStat(t, u).Mode()) + read2(u); got != kept[u] {
			t.Errorf("--fix changed %s, which it must leave alone", u)
		}
	}
	// The orphaned temp file is gone; the open one and the foreign one stay.
	if _, err := os.Lstat(p(".a.json.abcdefghijkl.tmp")); !os.IsNotExist(err) {
		t.Errorf("orphaned temp file still there: %v", err)
	}
	if _, _, ok := fileIdentity(mustStat(t, s.heldOpen.Name())); ok {
		if f := find(rep, s.heldOpen.Name(), ActiveTemp); f == nil || f.Fixed {
			t.Errorf("the open temp file: %+v", f)
		}
	}
	mustStat(t, p(".notours.tmp"))
	// The corrupt document is its backup again, the damaged file kept.
	if got := testdir.ReadString(t, p("cfg.json")); got != `{"port": 79}`+"\n" {
		t.Errorf("cfg.json after --fix: %q", got)
	}
	kepts, _ := filepath.Glob(p("cfg.json.corrupt.*"))
	if len(kepts) != 1 || testdir.ReadString(t, kepts[0]) != `{"port": 80, "na` {
		t.Errorf("the damaged cfg.json was not kept: %v", kepts)
	}
	// The torn JSON Lines file is cut, the tail kept as evidence.
	if got := testdir.ReadString(t, p("log", "t.jsonl")); got != "{\"a\":1}\n" {
		t.Errorf("t.jsonl after --fix: %q", got)
	}
	// The torn journal and queue verify clean, their tails in evidence/.
	for _, d := range []string{"j-torn", "q-torn"} {
		rep, err := journal.Verify(context.Background(), p(d), nil)
		if err != nil || rep.Torn != nil {
			t.Errorf("%s after --fix: %v %+v", d, err, rep)
		}
		if ev, _ := os.ReadDir(p(d, "evidence")); len(ev) == 0 {
			t.Errorf("%s: no evidence kept", d)
		}
	}
	q, err := queue.Open(p("q-torn"), &queue.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := q.Stats(); st.Ready != 1 {
		t.Errorf("q-torn lost its message: %+v", st)
	}
	q.Close()
	if checkModes {
		for _, f := range []string{"tokens.json", "tokens.json.bak.1", "priv.json.bak.1", "audit.key"} {
			if m := mustStat(t, p(f)).Mode().Perm(); m != 0o600 {
				t.Errorf("%s: mode %#o after --fix", f, m)
			}
		}
		if m := mustStat(t, p("plain.json")).Mode().Perm(); m != 0o644 {
			t.Errorf("plain.json: mode %#o; it is no secret", m)
		}
	}

	// Again: only what cannot be fixed is left, plus notices.
	before := snapshot(t, s.root)
	again := s.check(t, false)
	if d := diffSnapshots(before, snapshot(t, s.root)); len(d) > 0 {
		t.Fatalf("Check without Fix changed the disk:\n%s", strings.Join(d, "\n"))
	}
	for _, f := range again.Findings {
		// Where fsck cannot see open files (Windows), the temp file the
		// test holds open counts as orphaned by its age, and removing it
		// fails while it is open: the system's own protection.
		if f.Problem && f.Fixable && f.Path != s.heldOpen.Name() {
			t.Errorf("after --fix, still fixable: %s %s: %s", f.Kind, f.Path, f.Detail)
		}
	}
	for _, w := range s.want {
		if !w.fixable && w.problem && find(again, w.path, w.kind) == nil {
			t.Errorf("after --fix, %s %s is no longer reported", w.kind, w.path)
		}
	}
	if f := find(again, kepts[0], KeptCorrupt); f == nil {
		t.Errorf("the damaged copy --fix kept is not reported as a notice:\n%s", dump(again))
	}
}

func read2(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

// TestCleanDirectory: files made by the packages themselves, in every
// shape they take in normal use, give no findings at all.
func TestCleanDirectory(t *testing.T) {
	root := testdir.New(t)
	p := func(parts ...string) string { return filepath.Join(append([]string{root}, parts...)...) }
	ctx := context.Background()

	type cfg struct{ Port int }
	st, err := store.Open(p("cfg.json"), &store.Options[cfg]{Backups: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := st.Update(ctx, func(c *cfg) error { c.Port = i; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	type tok struct {
		AccessToken string `json:"access_token"`
	}
	sec, err := store.Open(p("secret", "tokens.json"), &store.Options[tok]{Secret: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a", "b"} {
		if _, err := sec.Update(ctx, func(t *tok) error { t.AccessToken = v; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	jf, err := jsonl.Open(p("events.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := jf.Append(ctx, map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	jf.Close()
	newJournal(t, p("audit"), "one", "two")
	j, err := journal.Open(p("audit"), &journal.Options{SegmentSize: segSize})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Checkpoint(ctx, signer(t)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	q, err := queue.Open(p("jobs"), &queue.Options{SegmentSize: segSize})
	if err != nil {
		t.Fatal(err)
	}
	q.Push(ctx, []byte("a"))
	q.Push(ctx, []byte("b"))
	m, err := q.Pop(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	q.Ack(ctx, m.Receipt())
	q.Close()

	for _, fix := range []bool{false, true} {
		before := snapshot(t, root)
		rep, err := Check(ctx, []string{root}, &Options{Fix: fix, Now: later})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Findings) != 0 {
			t.Errorf("fix=%v: findings in a clean directory:\n%s", fix, dump(rep))
		}
		if d := diffSnapshots(before, snapshot(t, root)); len(d) > 0 {
			t.Errorf("fix=%v: a clean directory changed:\n%s", fix, strings.Join(d, "\n"))
		}
		if rep.Checked.Documents != 2 || rep.Checked.JSONL != 1 || rep.Checked.Journals != 1 || rep.Checked.Queues != 1 {
			t.Errorf("checked %+v", rep.Checked)
		}
	}
}

func TestCheckErrors(t *testing.T) {
	root := testdir.New(t)
	if _, err := Check(context.Background(), []string{filepath.Join(root, "missing")}, nil); !os.IsNotExist(err) {
		t.Errorf("a missing directory: %v", err)
	}
	write(t, filepath.Join(root, "file"), "x", 0o644)
	if _, err := Check(context.Background(), []string{filepath.Join(root, "file")}, nil); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Check(ctx, []string{root}, nil); err != context.Canceled {
		t.Errorf("a cancelled context: %v", err)
	}
}

func TestUnreadable(t *testing.T) {
	if !checkModes || os.Geteuid() == 0 {
		t.Skip("needs Unix modes and a user that is not root (root reads everything)")
	}
	root := testdir.New(t)
	locked := filepath.Join(root, "locked")
	write(t, filepath.Join(locked, "a.json"), "{", 0o644)
	write(t, filepath.Join(root, "b.json"), "{}", 0o000)
	os.Chmod(locked, 0)
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	rep, err := Check(context.Background(), []string{root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{locked, filepath.Join(root, "b.json")} {
		if f := find(rep, p, Unreadable); f == nil || !f.Problem || f.Fixable {
			t.Errorf("%s: %+v\n%s", p, f, dump(rep))
		}
	}
}
