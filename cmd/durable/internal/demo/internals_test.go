package demo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/internal/testdir"
)

func TestCheckCounters(t *testing.T) {
	path := filepath.Join(testdir.New(t), "counters.json")
	lo := map[string]uint64{"a": 3, "b": 0}
	hi := map[string]uint64{"a": 4, "b": 1}
	check := func(content string) crashtest.Verdict {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		v, _ := checkCounters(path, lo, hi)
		return v
	}
	for _, tc := range []struct {
		content string
		problem string // "" for ok
	}{
		{`{"counters":{"a":3}}`, ""},
		{`{"counters":{"a":4,"b":1}}`, ""},
		{``, crashtest.ProblemEmpty},
		{`{"counters":{"a":`, crashtest.ProblemTorn},
		{`{"counters":{"a":2,"b":1}}`, crashtest.ProblemRolledBack},
		{`{"counters":{}}`, crashtest.ProblemRolledBack},
		{`{"counters":{"a":3,"b":2}}`, crashtest.ProblemTorn},
	} {
		v := check(tc.content)
		if v.OK != (tc.problem == "") || v.Problem != tc.problem {
			t.Errorf("%q: got %v, want problem %q", tc.content, v, tc.problem)
		}
	}
	os.Remove(path)
	if v, _ := checkCounters(path, lo, hi); v.OK || v.Problem != crashtest.ProblemMissing {
		t.Errorf("missing file: %v", v)
	}
	if v, _ := checkCounters(path, map[string]uint64{"a": 0}, map[string]uint64{"a": 1}); !v.OK {
		t.Errorf("missing file before any ack: %v", v)
	}
	if err := seedCounters(path, map[string]uint64{"a": 3, "b": 1}); err != nil {
		t.Fatal(err)
	}
	if v, got := checkCounters(path, lo, hi); !v.OK || got["a"] != 3 || got["b"] != 1 {
		t.Errorf("seeded document: %v %v", v, got)
	}
}

func TestQueueLedger(t *testing.T) {
	type said struct {
		before, after []string // lines before and after a power cut (nil after: a kill)
	}
	for _, tc := range []struct {
		name                   string
		said                   said
		left                   []string
		lost, redelivered, bad int
	}{
		{"clean", said{before: []string{"pushed p-1", "pushed p-2", "got p-1", "acking p-1", "done p-1"}}, []string{"p-2"}, 0, 0, 0},
		{"push lost", said{before: []string{"pushed p-1", "pushed p-2"}}, []string{"p-2"}, 1, 0, 0},
		{"handed out, never back", said{before: []string{"pushed p-1", "got p-1"}}, nil, 1, 0, 0},
		{"killed during its ack", said{before: []string{"pushed p-1", "got p-1", "acking p-1"}}, nil, 0, 0, 0},
		{"killed during its ack, still there", said{before: []string{"pushed p-1", "got p-1", "acking p-1"}}, []string{"p-1"}, 0, 0, 0},
		{"acked, back again", said{before: []string{"pushed p-1", "got p-1", "acking p-1", "done p-1"}}, []string{"p-1"}, 0, 1, 0},
		{"acked twice", said{before: []string{"pushed p-1", "done p-1", "done p-1"}}, nil, 0, 1, 0},
		{"twice in the queue", said{before: []string{"pushed p-1"}}, []string{"p-1", "p-1"}, 0, 1, 0},
		{"push in flight landed", said{before: []string{"pushed p-1"}}, []string{"p-1", "p-2"}, 0, 0, 0},
		{"made up", said{before: []string{"pushed p-1"}}, []string{"p-1", "p-3", "q-1"}, 0, 0, 2},
		{"push after the cut lost", said{before: []string{"pushed p-1"}, after: []string{"pushed p-2"}}, []string{"p-1"}, 0, 0, 0},
		{"push before the cut lost", said{before: []string{"pushed p-1"}, after: []string{"pushed p-2"}}, []string{"p-2"}, 1, 0, 0},
		{"ack after the cut undone", said{before: []string{"pushed p-1", "got p-1"}, after: []string{"acking p-1", "done p-1"}}, []string{"p-1"}, 0, 0, 0},
		{"ack before the cut undone", said{before: []string{"pushed p-1", "got p-1", "acking p-1", "done p-1"}, after: []string{}}, []string{"p-1"}, 0, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newQueueLedger()
			l.producer("p")
			for _, line := range tc.said.before {
				l.said(line)
			}
			if tc.said.after != nil {
				l.cut()
				for _, line := range tc.said.after {
					l.said(line)
				}
			}
			v := l.judge(tc.left, nil)
			if len(v.lost) != tc.lost || len(v.redelivered) != tc.redelivered || len(v.corrupt) != tc.bad {
				t.Errorf("got %v; want %d lost, %d redelivered, %d corrupt", v, tc.lost, tc.redelivered, tc.bad)
			}
			if v.ok() != (tc.lost+tc.redelivered+tc.bad == 0) {
				t.Errorf("ok() = %v for %v", v.ok(), v)
			}
		})
	}
	if v := newQueueLedger().judge(nil, errors.New("journal: corrupt")); v.ok() || len(v.corrupt) != 1 {
		t.Errorf("a queue that cannot be read: %v", v)
	}
}

// TestDemoOAuth runs one refresh race per token keeper: oauth.TokenSource
// must never be refused and must keep the newest token.
