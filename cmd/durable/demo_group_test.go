package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/durable-go/durable/cmd/durable/internal/demo"
	"github.com/durable-go/durable/internal/testdir"
)

// TestDemoStoreQueue runs the store and queue phases (kills only) with
// --json: store.Update and the queue must come through every crash; the
// naive writers must have run.
func TestDemoStoreQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 48 child processes")
	}
	r := runCLI(t, nil, "demo", "--only", "store,queue", "--store-rounds", "3", "--queue-rounds", "3",
		"--log-power-cuts", "0", "--seed", "9", "--dir", testdir.New(t), "--json")
	var out demoResult
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &out) != nil {
		t.Fatalf("demo --only store,queue --json: %v", r)
	}
	if !out.OK || len(out.Rows) != 2 || len(out.Queues) != 2 || len(out.Logs) != 0 || out.Passes != 1 {
		t.Fatalf("demo --json printed %+v", out)
	}
	for _, row := range out.Rows {
		if row.Kills != 3 || row.Rounds != 3 {
			t.Errorf("store row %+v: want 3 kills", row)
		}
		if strings.HasPrefix(row.Writer, "store.Update") != row.MustHold || (row.MustHold && row.Violations() != 0) {
			t.Errorf("store row %+v", row)
		}
	}
	for _, row := range out.Queues {
		if row.Kills != 3 || row.Rounds != 3 {
			t.Errorf("queue row %+v: want 3 kills", row)
		}
		if strings.HasPrefix(row.Writer, "queue.") != row.MustHold || (row.MustHold && row.Violations() != 0) {
			t.Errorf("queue row %+v", row)
		}
	}
}

// TestDemoLong runs passes until the time is up and adds them up.
func TestDemoLong(t *testing.T) {
	if testing.Short() {
		t.Skip("runs writer processes for seconds")
	}
	r := runCLI(t, nil, "demo", "--only", "file", "--rounds", "2", "--power-cuts", "0", "--size", "4096",
		"--long", "4s", "--dir", testdir.New(t), "--json")
	var out demoResult
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &out) != nil {
		t.Fatalf("demo --long --json: %v", r)
	}
	if !out.OK || out.Passes < 2 || out.Seconds < 4 || len(out.Rows) != 2 {
		t.Fatalf("demo --long printed %+v", out)
	}
	// (4s: a pass takes about 2s under -race on a loaded machine, and two
	// are wanted.) A pass may stop between its phases, but never before its
	// first.
	if naive := out.Rows[0]; naive.Kills < 2*out.Passes || naive.Kills%2 != 0 {
		t.Errorf("naive row %+v after %d passes", naive, out.Passes)
	}
	if durable := out.Rows[1]; durable.Kills < 2*(out.Passes-1) || durable.Violations() != 0 {
		t.Errorf("durable row %+v after %d passes", durable, out.Passes)
	}
}

func TestDemoOAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 8 processes for seconds")
	}
	r := runCLI(t, nil, "demo", "--only", "oauth", "--oauth-rounds", "1", "--dir", testdir.New(t), "--json")
	var out demoResult
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &out) != nil {
		t.Fatalf("demo --only oauth --json: %v", r)
	}
	if !out.OK || len(out.OAuth) != 2 || len(out.Rows)+len(out.Logs)+len(out.Queues) != 0 {
		t.Fatalf("demo --json printed %+v", out)
	}
	for _, row := range out.OAuth {
		if row.Rounds != 1 || row.Calls != demo.OAuthCallsPerRound || row.Refreshes == 0 {
			t.Errorf("row %+v: want 1 round of %d calls with refreshes", row, demo.OAuthCallsPerRound)
		}
		if row.Writer == "oauth.TokenSource" != row.MustHold || (row.MustHold && row.Violations() != 0) {
			t.Errorf("row %+v", row)
		}
	}
}
