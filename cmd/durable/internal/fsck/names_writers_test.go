package fsck

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/queue"
	"github.com/durable-go/durable/store"
)

// Every name the module's writers really create is recognised by the
// classifiers fsck asks: the primary files aside, each is a temp file, a
// lock, a segment, or a copy of a file that is there. Nothing is matched
// by a string of fsck's own.
func TestWritersNamesAreRecognised(t *testing.T) {
	ctx := context.Background()
	dir := testdir.New(t)
	p := func(n string) string { return filepath.Join(dir, n) }

	// durable: backups and a temp file in flight.
	for _, v := range []string{"1", "2", "3"} {
		if err := durable.WriteFile(p("plain.txt"), []byte(v), 0o600, durable.Backups(2)); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := durable.Create(p("plain.txt"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer pending.Cleanup()

	// store: backups, a damaged copy, a pre-migration copy, its lock.
	type doc struct {
		N int `json:"n"`
	}
	os.WriteFile(p("doc.json"), []byte(`{"schema":1,"n":1}`), 0o600)
	s, err := store.Open(p("doc.json"), &store.Options[doc]{Schema: 2, Backups: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.Update(ctx, func(d *doc) error { d.N = i; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(p("doc.json"), []byte(`{"n":`), 0o600)
	if _, _, err := s.Get(); err != nil {
		t.Fatal(err)
	}

	// jsonl: a lock and the evidence of a cut torn line.
	f, err := jsonl.Open(p("log.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Append(ctx, json.RawMessage(`{"a":1}`))
	f.Close()
	fh, _ := os.OpenFile(p("log.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString(`{"torn`)
	fh.Close()
	if _, err := jsonl.Repair(p("log.jsonl"), nil); err != nil {
		t.Fatal(err)
	}

	// A journal and a queue: their own directories.
	j, err := journal.Open(p("audit"), nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Append(ctx, []byte("x"))
	// A second writer: appends that take turns share their flushes,
	// under the journal's flush lock (flush.lock).
	j2, err := journal.Open(p("audit"), nil)
	if err != nil {
		t.Fatal(err)
	}
	j2.Append(ctx, []byte("y"))
	j.Append(ctx, []byte("z"))
	j2.Close()
	j.Close()
	if _, err := os.Stat(p("audit/flush" + lock.Suffix)); err != nil {
		t.Errorf("no flush lock after writers took turns: %v", err)
	}
	q, err := queue.Open(p("jobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	q.Push(ctx, []byte("job"))
	q.Close()

	// store in log mode: its patch log, and patches set aside.
	ls, err := store.Open(p("logged.json"), &store.Options[doc]{Log: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ls.Update(ctx, func(d *doc) error { d.N = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ls.DiscardLog(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ls.Update(ctx, func(d *doc) error { d.N = 2; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := ls.Close(); err != nil {
		t.Fatal(err)
	}

	primary := map[string]bool{"plain.txt": true, "doc.json": true, "log.jsonl": true, "audit": true, "jobs": true, "logged.json": true}
	kinds := map[string]int{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		n := e.Name()
		switch base, k, ok := copyOf(n); {
		case primary[n]:
		case e.IsDir() && isLogOf(n, primary):
			kinds["patchlog"]++
		case isTempName(n):
			kinds["temp"]++
		case isLockName(n):
			kinds["lock"]++
		case ok:
			kinds[map[copyKind]string{copyBackup: "backup", copyCorrupt: "corrupt", copyPreMigration: "pre", copyTorn: "torn", copyDiscardedLog: "discarded"}[k]]++
			if !primary[base] {
				t.Errorf("%s is a copy of %q, which is not there", n, base)
			}
		default:
			t.Errorf("%s: made by a writer, recognised by no classifier", n)
		}
	}
	if kinds["patchlog"] != 1 || kinds["discarded"] != 1 {
		t.Errorf("log mode: recognised %v", kinds)
	}
	if kinds["temp"] != 1 || kinds["backup"] != 4 || kinds["corrupt"] != 1 || kinds["pre"] != 1 || kinds["torn"] != 1 || kinds["lock"] < 2 {
		t.Errorf("recognised %v", kinds)
	}
	for _, sub := range []string{"audit", "jobs", "logged.json.patchlog"} {
		ents, _ := os.ReadDir(p(sub))
		segs := 0
		for _, e := range ents {
			switch n := e.Name(); {
			case isSegmentName(n):
				segs++
			case isTempName(n), isLockName(n), n == "checkpoint", n == "evidence", n == "origin":
			default:
				t.Logf("%s/%s: not a segment, temp or lock (a journal's fixed name)", sub, n)
			}
		}
		if segs == 0 || !isJournalDir(entriesOf(t, p(sub))) {
			t.Errorf("%s: %d segments recognised", sub, segs)
		}
	}
}

func entriesOf(t *testing.T, dir string) []entry {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []entry
	for _, e := range ents {
		out = append(out, entry{name: e.Name()})
	}
	return out
}

func isLogOf(name string, primary map[string]bool) bool {
	doc, ok := isStoreLogName(name)
	return ok && primary[doc]
}
