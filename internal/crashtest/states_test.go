package crashtest

import (
	"os"
	"strings"
	"testing"

	"github.com/durable-go/durable/vfs"
)

func TestStatesEnumeratesSmallSteps(t *testing.T) {
	for _, order := range Profiles() {
		m := Under(order)
		if m.Model().Dirs != order {
			t.Fatalf("Under(%v) made a %v MemFS", order, m.Model().Dirs)
		}
		if err := vfs.WriteFile(m, "/a", []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		m.SyncAll()
		if err := vfs.WriteFile(m, "/b", []byte("new"), 0o600); err != nil {
			t.Fatal(err)
		}
		states, enumerated := States(m, 100)
		if !enumerated {
			t.Fatalf("%v: a two-change step was not enumerated", order)
		}
		seen := map[string]bool{}
		for _, s := range states {
			if s.Seed != -1 || !strings.HasPrefix(s.String(), "enumerated") {
				t.Errorf("%v: enumerated state labelled %v", order, s)
			}
			a, _ := vfs.ReadFile(s.FS, "/a")
			b, _ := vfs.ReadFile(s.FS, "/b")
			seen[s.FS.Dump()+string(a)+"|"+string(b)] = true
		}
		if len(seen) != len(states) {
			t.Errorf("%v: %d states but %d distinct", order, len(states), len(seen))
		}
		var c StateCount
		c.Add(states, enumerated)
		if c.Enumerated != len(states) || c.Sampled != 0 {
			t.Errorf("count %v", c)
		}
	}
}

func TestStatesSamplesLargeSteps(t *testing.T) {
	m := vfs.NewMem()
	f, err := m.OpenFile("/big", os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := f.Write([]byte(strings.Repeat("x", 100+i))); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	states, enumerated := States(m, 10)
	if enumerated || len(states) != 10 {
		t.Fatalf("%d states, enumerated %v; want 10 sampled", len(states), enumerated)
	}
	if states[0].Seed != 0 || states[1].Seed != 1 || !strings.HasPrefix(states[2].String(), "sampled seed 2") {
		t.Errorf("samples are not seeds 0, 1, 2...: %v %v %v", states[0], states[1], states[2])
	}
	if _, err := states[0].FS.Stat("/big"); err == nil {
		t.Error("seed 0 kept a file whose name was never synced")
	}
	var c StateCount
	c.Add(states, enumerated)
	if c.String() != "10 crash states (0 enumerated, 10 sampled)" {
		t.Errorf("count %q", c)
	}
}
