package jsonl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/vfs"
)

func TestAppendWritesPlainJSONLines(t *testing.T) {
	path := filepath.Join(testdir.New(t), "events.jsonl")
	f, err := jsonl.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := f.Append(ctx, map[string]any{"msg": "two\nlines\r\nhere", "n": 1}); err != nil {
		t.Fatal(err)
	}
	if err := f.AppendRaw(ctx, []byte("{\n  \"pretty\": [1,\n 2]\n}\n")); err != nil {
		t.Fatal(err)
	}
	if err := f.AppendRaw(ctx, []byte(`"just a string"`)); err != nil {
		t.Fatal(err)
	}
	if err := f.AppendRawBatch(ctx, [][]byte{[]byte(`{"b":1}`), []byte("[2]\n"), []byte(" null ")}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := `{"msg":"two\nlines\r\nhere","n":1}` + "\n" + `{"pretty":[1,2]}` + "\n" + `"just a string"` + "\n" +
		`{"b":1}` + "\n[2]\nnull\n"
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("file holds\n%s\nwant\n%s", got, want)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("new file has mode %v, want 0600", fi.Mode().Perm())
		}
	}
	var vals []string
	for v, err := range jsonl.Scan(path) {
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, string(v))
	}
	if len(vals) != 6 || vals[0] != `{"msg":"two\nlines\r\nhere","n":1}` || vals[5] != "null" {
		t.Fatalf("Scan = %q", vals)
	}
}

func TestAppendRefusesInvalidJSON(t *testing.T) {
	m := memWith(map[string]string{"/log": line("a", 0) + "\n"})
	f, err := jsonl.Open("/log", &jsonl.Options{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	for _, bad := range []string{"", "   \n", "{", `{"a":1}{"b":2}`, "1 2", "{\"a\":\"x\x00\"}", "nul", `{"a":1}` + "\n" + `{"b":2}`} {
		if err := f.AppendRaw(ctx, []byte(bad)); !errors.Is(err, jsonl.ErrInvalidJSON) {
			t.Errorf("AppendRaw(%q) = %v, want ErrInvalidJSON", bad, err)
		}
	}
	err = f.AppendRawBatch(ctx, [][]byte{[]byte(`{"ok":1}`), []byte(`{"bad":`)})
	if !errors.Is(err, jsonl.ErrInvalidJSON) || !strings.Contains(err.Error(), "line 2 of the batch") {
		t.Errorf("AppendRawBatch with a bad line = %v", err)
	}
	if err := f.Append(ctx, map[string]any{"f": func() {}}); !errors.Is(err, jsonl.ErrInvalidJSON) {
		t.Errorf("Append(func) = %v, want ErrInvalidJSON", err)
	}
	if c := content(t, m, "/log"); c != line("a", 0)+"\n" {
		t.Fatalf("refused input changed the file: %q", c)
	}
}

// The repair cases: what a crash can leave at the end of a file, and what
// Open must make of it.
var tornCases = []struct {
	name       string
	data       string
	keep       string // the file after the repair
	cut        string // what goes to the evidence file
	terminated bool
}{
	{"clean", `{"a":1}` + "\n", `{"a":1}` + "\n", "", false},
	{"empty", "", "", "", false},
	{"blank lines are fine", `{"a":1}` + "\n\n \n", `{"a":1}` + "\n\n \n", "", false},
	{"partial line", `{"a":1}` + "\n" + `{"b":`, `{"a":1}` + "\n", `{"b":`, false},
	{"partial only line", `{"b":[1,`, "", `{"b":[1,`, false},
	{"zeros", `{"a":1}` + "\n\x00\x00\x00\x00", `{"a":1}` + "\n", "\x00\x00\x00\x00", false},
	{"complete but unterminated", `{"a":1}` + "\n" + `{"b":2}`, `{"a":1}` + "\n" + `{"b":2}` + "\n", "", true},
	{"complete then zeros", `{"a":1}` + "\n" + `["b"]` + "\x00\x00", `{"a":1}` + "\n" + `["b"]` + "\n", "\x00\x00", true},
	{"number cut short", `{"a":1}` + "\n12", `{"a":1}` + "\n", "12", false},
	{"whitespace", `{"a":1}` + "\n  ", `{"a":1}` + "\n", "  ", false},
	{"glued", `{"a":1}` + "\n" + `{"a":1}}`, `{"a":1}` + "\n", `{"a":1}}`, false},
	{"zero-filled lines", `{"a":1}` + "\n\x00\x00\x00\n\x00\x00", `{"a":1}` + "\n", "\x00\x00\x00\n\x00\x00", false},
	{"zero-damaged last line", `{"a":1}` + "\n\x00\x00\x00:2}\n", `{"a":1}` + "\n", "\x00\x00\x00:2}\n", false},
	{"zero line, blank, partial", `{"a":1}` + "\n\x00\n\n{\"c", `{"a":1}` + "\n", "\x00\n\n{\"c", false},
}

func TestOpenRepairsTornTail(t *testing.T) {
	for _, tc := range tornCases {
		t.Run(tc.name, func(t *testing.T) {
			m := memWith(map[string]string{"/d/log.jsonl": tc.data})
			var reports []jsonl.RepairReport
			f, err := jsonl.Open("/d/log.jsonl", &jsonl.Options{FS: m, OnRepair: func(r jsonl.RepairReport) {
				reports = append(reports, r)
			}})
			if err != nil {
				t.Fatal(err)
			}
			rep := f.Report()
			if got := content(t, m, "/d/log.jsonl"); got != tc.keep {
				t.Errorf("after Open the file holds %q, want %q", got, tc.keep)
			}
			if rep.Terminated != tc.terminated || rep.CutBytes != int64(len(tc.cut)) {
				t.Errorf("report %+v, want %d bytes cut, terminated %v", rep, len(tc.cut), tc.terminated)
			}
			ev := evidence(t, m, "/d/log.jsonl")
			switch {
			case tc.cut == "" && len(ev) > 0:
				t.Errorf("nothing was cut but evidence files appeared: %q", ev)
			case tc.cut != "" && (len(ev) != 1 || ev[rep.Evidence] != tc.cut):
				t.Errorf("evidence %q (report names %s), want one file holding %q", ev, rep.Evidence, tc.cut)
			}
			if rep.Changed() != (len(reports) == 1) || len(reports) > 1 {
				t.Errorf("OnRepair called %d times for report %v", len(reports), rep)
			}
			if tc.cut != "" {
				fi, err := m.Stat(rep.Evidence)
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("evidence file: %v, %v; want mode 0600 like the log", fi, err)
				}
			}
			// Appending goes on at a line boundary and everything parses.
			if err := f.Append(context.Background(), rec{ID: "new"}); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if got := content(t, m, "/d/log.jsonl"); got != tc.keep+`{"id":"new"}`+"\n" {
				t.Errorf("after an append the file holds %q", got)
			}
			if _, errs := scanAll(m, "/d/log.jsonl"); len(errs) > 0 {
				t.Errorf("the repaired file does not parse: %v", errs)
			}
			// The same rules hold for Scan on the damaged data.
			var torn error
			for _, err := range jsonl.ScanReader(strings.NewReader(tc.data)) {
				torn = err
			}
			if (torn != nil) != (tc.cut != "") || torn != nil && !errors.Is(torn, jsonl.ErrTornTail) {
				t.Errorf("Scan of the damaged data ends with %v, want a torn tail error: %v", torn, tc.cut != "")
			}
			if torn != nil && !errors.Is(torn, durable.ErrCorrupt) {
				t.Errorf("torn tail error %v does not wrap durable.ErrCorrupt", torn)
			}
		})
	}
}

func TestOpenRefusesCorruptMiddle(t *testing.T) {
	cases := []struct {
		name         string
		data         string
		line         int
		offset       int64
		afterAllowed string
	}{
		{"garbage line", `{"a":1}` + "\nnot json\n" + `{"b":2}` + "\n" + `{"c":`, 2, 8,
			`{"a":1}` + "\nnot json\n" + `{"b":2}` + "\n"},
		{"glued records", `{"a":1}{"b":2}` + "\n" + `{"c":3}` + "\n", 1, 0,
			`{"a":1}{"b":2}` + "\n" + `{"c":3}` + "\n"},
		{"zeros before a valid line", `{"a":1}` + "\n\x00\x00\n" + `{"b":2}` + "\n\x00", 2, 8,
			`{"a":1}` + "\n\x00\x00\n" + `{"b":2}` + "\n"},
		{"zeros before a complete last value", `{"a":1}` + "\n\x00\x00\n" + `{"b":2}`, 2, 8,
			`{"a":1}` + "\n\x00\x00\n" + `{"b":2}` + "\n"},
		{"garbage last line", `{"a":1}` + "\nnot json\n", 2, 8, `{"a":1}` + "\nnot json\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := memWith(map[string]string{"/log": tc.data})
			_, err := jsonl.Open("/log", &jsonl.Options{FS: m})
			var ce *jsonl.CorruptError
			if !errors.Is(err, durable.ErrCorrupt) || !errors.As(err, &ce) {
				t.Fatalf("Open = %v, want a *CorruptError wrapping durable.ErrCorrupt", err)
			}
			if ce.Line != tc.line || ce.Offset != tc.offset || ce.Torn || errors.Is(err, jsonl.ErrTornTail) {
				t.Errorf("error %+v, want line %d at byte %d, not torn", ce, tc.line, tc.offset)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("line %d", tc.line)) || !strings.Contains(err.Error(), filepath.FromSlash("/log")) {
				t.Errorf("message %q does not name the file and the line", err)
			}
			if got := content(t, m, "/log"); got != tc.data || len(evidence(t, m, "/log")) > 0 {
				t.Errorf("a refused Open changed the file: %q", got)
			}
			if _, err := jsonl.Repair("/log", &jsonl.Options{FS: m}); !errors.As(err, &ce) {
				t.Errorf("Repair = %v, want the same refusal", err)
			}

			// AllowCorrupt: the tail is repaired, the middle left alone
			// and reported, and appends work.
			f, err := jsonl.Open("/log", &jsonl.Options{FS: m, AllowCorrupt: true})
			if err != nil {
				t.Fatal(err)
			}
			rep := f.Report()
			if rep.CorruptLines != 1 || len(rep.Corrupt) != 1 || rep.Corrupt[0].Line != tc.line {
				t.Errorf("report %+v does not list line %d", rep, tc.line)
			}
			if err := f.Append(context.Background(), rec{ID: "x"}); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if got := content(t, m, "/log"); got != tc.afterAllowed+`{"id":"x"}`+"\n" {
				t.Errorf("after AllowCorrupt and an append: %q", got)
			}
			vals, errs := scanAll(m, "/log")
			if len(errs) != 1 || !errors.As(errs[0], &ce) || ce.Line != tc.line {
				t.Errorf("Scan errors %v, want the corrupt line %d", errs, tc.line)
			}
			if len(vals) == 0 || vals[len(vals)-1] != `{"id":"x"}` {
				t.Errorf("the appended line is unreachable: %q", vals)
			}
		})
	}
}

func TestScanReportsDamage(t *testing.T) {
	data := `{"a":1}` + "\n\n" + `oops` + "\n" + `[2]` + "\n" + `{"b"`
	var got []string
	for v, err := range jsonl.ScanReader(strings.NewReader(data)) {
		var ce *jsonl.CorruptError
		switch {
		case err == nil:
			got = append(got, string(v))
		case errors.As(err, &ce):
			got = append(got, fmt.Sprintf("error line %d byte %d torn %v", ce.Line, ce.Offset, ce.Torn))
		default:
			t.Fatal(err)
		}
	}
	want := []string{`{"a":1}`, "error line 3 byte 9 torn false", `[2]`, "error line 5 byte 18 torn true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Scan yielded %q, want %q", got, want)
	}
	// Stopping early is fine.
	for range jsonl.ScanReader(strings.NewReader(data)) {
		break
	}
	if _, errs := scanAll(vfs.NewMem(), "/missing"); len(errs) != 1 || !errors.Is(errs[0], fs.ErrNotExist) {
		t.Errorf("Scan of a missing file: %v", errs)
	}
}

func TestCloseAndContext(t *testing.T) {
	m := memWith(map[string]string{"/log": ""})
	f, err := jsonl.Open("/log", &jsonl.Options{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Append(ctx, rec{ID: "late"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a cancelled context = %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Append(context.Background(), rec{ID: "closed"}); !errors.Is(err, durable.ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
	if err := f.Close(); !errors.Is(err, durable.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if c := content(t, m, "/log"); c != "" {
		t.Errorf("file holds %q", c)
	}
}

// Another process died in the middle of a line: the next append, by
// anyone, moves the partial line to evidence before writing.
func TestAppendRepairsAPartialLineLeftByAnotherWriter(t *testing.T) {
	path := filepath.Join(testdir.New(t), "log.jsonl")
	var reports []jsonl.RepairReport
	f, err := jsonl.Open(path, &jsonl.Options{OnRepair: func(r jsonl.RepairReport) { reports = append(reports, r) }})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	if err := f.Append(ctx, rec{ID: "1"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	raw.WriteString(`{"id":"dead","pad":"ppp`)
	raw.Close()
	if err := f.Append(ctx, rec{ID: "2"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != `{"id":"1"}`+"\n"+`{"id":"2"}`+"\n" {
		t.Fatalf("file holds %q", got)
	}
	if len(reports) != 1 || reports[0].CutBytes != 23 || reports[0].Evidence == "" {
		t.Fatalf("reports %+v", reports)
	}
	if ev, _ := os.ReadFile(reports[0].Evidence); string(ev) != `{"id":"dead","pad":"ppp` {
		t.Fatalf("evidence holds %q", ev)
	}
	if !strings.Contains(reports[0].String(), "saved in "+reports[0].Evidence) {
		t.Errorf("report reads %q", reports[0])
	}
}

// Goroutines in one process share fsyncs; two Files on the same path (as
// two processes would) exclude each other through the lock.
func TestConcurrentAppendsShareFsyncs(t *testing.T) {
	path := filepath.Join(testdir.New(t), "log.jsonl")
	files := make([]*jsonl.File, 2)
	for i := range files {
		f, err := jsonl.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		files[i] = f
	}
	const goroutines, each = 16, 40
	var wg sync.WaitGroup
	for g := range goroutines {
		f := files[g%2]
		wg.Go(func() {
			for i := range each {
				if err := f.Append(context.Background(), rec{ID: fmt.Sprintf("%d-%d", g, i), Pad: strings.Repeat("x", i*7)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, f := range files {
		f.Close()
	}
	vals, errs := scanAll(vfs.OS{}, path)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	n := ids(t, vals)
	if len(n) != goroutines*each {
		t.Fatalf("%d distinct lines, want %d", len(n), goroutines*each)
	}
	for id, c := range n {
		if c != 1 {
			t.Fatalf("line %s appears %d times", id, c)
		}
	}

	// Count the fsyncs on the model, made as slow as a disk's: far fewer
	// than the appends.
	m := memWith(map[string]string{"/log": ""})
	inj := vfs.Inject(slowSync{m}, vfs.Fault{Ops: vfs.OpSync})
	f, err := jsonl.Open("/log", &jsonl.Options{FS: inj})
	if err != nil {
		t.Fatal(err)
	}
	var acked atomic.Int32
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if err := f.Append(context.Background(), rec{ID: fmt.Sprintf("%d-%d", g, i)}); err == nil {
					acked.Add(1)
				}
			}
		})
	}
	wg.Wait()
	f.Close()
	t.Logf("%d appends acknowledged by %d fsyncs", acked.Load(), inj.Count())
	if int(acked.Load()) != goroutines*each || inj.Count() > goroutines*each/4 {
		t.Errorf("%d appends, %d fsyncs: group commit shared nothing", acked.Load(), inj.Count())
	}
}

func TestRepair(t *testing.T) {
	m := memWith(map[string]string{"/log": `{"a":1}` + "\n" + `{"b":2}` + "\n" + `{"c":`})
	rep, err := jsonl.Repair("/log", &jsonl.Options{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lines != 2 || rep.CutBytes != 5 || rep.CutOffset != 16 || rep.CutLine != 3 || rep.SizeBefore != 21 ||
		rep.SizeAfter != 16 || rep.Excerpt != `"{\"c\":"` || rep.Terminated || !rep.Changed() {
		t.Errorf("report %+v", rep)
	}
	if content(t, m, rep.Evidence) != `{"c":` {
		t.Errorf("evidence %q", content(t, m, rep.Evidence))
	}
	b, _ := json.Marshal(rep)
	if !bytes.Contains(b, []byte(`"cut_bytes":5`)) {
		t.Errorf("JSON report %s", b)
	}
	rep, err = jsonl.Repair("/log", &jsonl.Options{FS: m})
	if err != nil || rep.Changed() || rep.Lines != 2 || rep.String() != filepath.FromSlash("/log")+": nothing to repair" {
		t.Errorf("second Repair: %v, %+v", err, rep)
	}
	if _, err := jsonl.Repair("/missing", &jsonl.Options{FS: m}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Repair of a missing file = %v", err)
	}
}

// slowSync is a filesystem whose fsyncs take a millisecond, as a disk's do.
type slowSync struct{ vfs.FS }

func (s slowSync) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := s.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return slowFile{f}, nil
}

type slowFile struct{ vfs.File }

func (f slowFile) Sync() error {
	time.Sleep(time.Millisecond)
	return f.File.Sync()
}
