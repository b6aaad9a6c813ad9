package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/durable-go/durable/cmd/durable/internal/demo"
	"github.com/durable-go/durable/internal/testdir"
)

// TestDemoShort runs a short demo (kills only) the way a user would and
// checks that the table shows durable.WriteFile without a violation.
// demoResult is what durable demo --json prints.
type demoResult = demo.Result

func TestDemoShort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 20 writer processes")
	}
	dir := testdir.New(t)
	r := runCLI(t, nil, "demo", "--only", "file", "--rounds", "10", "--power-cuts", "0", "--size", "16384", "--dir", dir)
	if r.code != exitOK {
		t.Fatalf("demo: %v", r)
	}
	for _, want := range []string{
		"writer             kills  power cuts  ok  torn/corrupt  empty  missing  rolled back",
		"durable.WriteFile     10           0  10             0      0        0            0",
		"power cuts: skipped (--power-cuts 0)",
		"durable.WriteFile: every file complete and current after 10 crashes.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "\nos.WriteFile ") {
		t.Errorf("demo output has no os.WriteFile row:\n%s", r.stdout)
	}
	// (Wine's os.RemoveAll fails, so only outside it is the scratch
	// directory sure to be gone.)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 && !testdir.UnderWine() {
		t.Errorf("demo left %d entries in its --dir", len(entries))
	}
}

func TestDemoJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 10 writer processes")
	}
	r := runCLI(t, nil, "demo", "--only", "file", "--rounds", "5", "--power-cuts", "0", "--size", "4096", "--seed", "7", "--dir", testdir.New(t), "--json")
	var out demoResult
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &out) != nil {
		t.Fatalf("demo --json: %v", r)
	}
	if !out.OK || out.Seed != 7 || len(out.Rows) != 2 || len(out.Logs) != 0 {
		t.Fatalf("demo --json printed %+v", out)
	}
	for _, row := range out.Rows {
		if row.Kills != 5 || row.Rounds != 5 {
			t.Errorf("row %+v: want 5 kills", row)
		}
		if row.Writer == "durable.WriteFile" && (!row.MustHold || row.Violations() != 0) {
			t.Errorf("durable row %+v", row)
		}
	}
}

func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--rounds", "-1"},
		{"demo", "--size", "10"},
		{"demo", "extra"},
		{"demo", "--log-rounds", "-1"},
		{"demo", "--log-power-cuts", "-1"},
		{"demo", "--only", "nosuch"},
		{"demo", "--store-rounds", "-1"},
		{"demo", "--queue-rounds", "-1"},
		{"demo", "--long", "-1s"},
		{"demo", "--oauth-rounds", "-1"},
		{"demo", "--only", ","},
	} {
		if r := runCLI(t, nil, args...); r.code != exitUsage {
			t.Errorf("durable %v: %v", args, r)
		}
	}
}

// TestDemoLog runs the log phases (kills only): journal.Append must come
// through every crash; bufio.Writer is shown, not judged.
func TestDemoLog(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 16 writer processes")
	}
	dir := testdir.New(t)
	r := runCLI(t, nil, "demo", "--only", "log", "--log-rounds", "8", "--log-power-cuts", "0", "--dir", dir)
	if r.code != exitOK {
		t.Fatalf("demo --only log: %v", r)
	}
	for _, want := range []string{
		"log writer      kills  power cuts  ok  torn  lost acked  corrupt  repaired",
		"log power cuts: skipped (--log-power-cuts 0)",
		"journal.Append: every acknowledged record present and intact after 8 crashes",
		"\nbufio.Writer        8           0",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "os.WriteFile") || strings.Contains(r.stdout, "jsonl.Append") {
		t.Errorf("--only log ran other phases:\n%s", r.stdout)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 && !testdir.UnderWine() {
		t.Errorf("demo left %d entries in its --dir", len(entries))
	}
}

// TestDemoJSONL runs the JSON Lines phases (kills only) with --json:
// jsonl.Append must have no violation; the O_APPEND writer must have run.
func TestDemoJSONL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 16 writer processes")
	}
	r := runCLI(t, nil, "demo", "--only", "jsonl", "--log-rounds", "8", "--log-power-cuts", "0", "--seed", "5", "--dir", testdir.New(t), "--json")
	var out demoResult
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &out) != nil {
		t.Fatalf("demo --only jsonl --json: %v", r)
	}
	if !out.OK || len(out.Rows) != 0 || len(out.Logs) != 2 {
		t.Fatalf("demo --json printed %+v", out)
	}
	for _, row := range out.Logs {
		if row.Kills != 8 || row.Rounds != 8 || row.PowerCuts != 0 {
			t.Errorf("row %+v: want 8 kills", row)
		}
		switch row.Writer {
		case "jsonl.Append":
			if !row.MustHold || row.Violations() != 0 || row.Lost != 0 || row.Torn != 0 || row.Corrupt != 0 {
				t.Errorf("durable row %+v", row)
			}
		case "O_APPEND write":
			if row.MustHold {
				t.Errorf("naive row must not hold: %+v", row)
			}
		default:
			t.Errorf("unexpected row %+v", row)
		}
	}
}
