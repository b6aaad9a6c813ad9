package crashtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
)

func TestEncodeDecode(t *testing.T) {
	for _, size := range []int{0, 100, 4096, DefaultSize, 1 << 20} {
		for _, v := range []uint64{1, 2, 12345678901} {
			doc := Encode(v, size)
			want := size
			if want == 0 {
				want = DefaultSize
			}
			if size >= 4096 && (len(doc) < want-200 || len(doc) > want+200) {
				t.Errorf("Encode(%d, %d) is %d bytes", v, size, len(doc))
			}
			got, err := Decode(doc)
			if err != nil || got != v {
				t.Errorf("Decode(Encode(%d, %d)) = %d, %v", v, size, got, err)
			}
		}
	}
	if bytes.Equal(Encode(1, 1000)[20:], Encode(2, 1000)[20:]) {
		t.Error("versions 1 and 2 have the same payload")
	}
}

func TestCheck(t *testing.T) {
	doc3, doc4 := Encode(3, 8192), Encode(4, 8192)
	flipped := bytes.Clone(doc3)
	i := bytes.Index(flipped, []byte(`"3-5-`)) + 6
	flipped[i] ^= 1 // still valid JSON: a hex digit becomes another character
	otherVersion := bytes.Replace(bytes.Clone(doc3), []byte(`"version":3`), []byte(`"version":4`), 1)
	zeroTail := bytes.Clone(doc3)
	clear(zeroTail[4096:])
	cases := []struct {
		name    string
		content []byte // nil: no file
		lastAck uint64
		ok      bool
		problem string
		version uint64
	}{
		{"current", doc3, 3, true, "", 3},
		{"in-flight write landed", doc4, 3, true, "", 4},
		{"no file, nothing acknowledged", nil, 0, true, "", 0},
		{"no file", nil, 3, false, ProblemMissing, 0},
		{"empty", []byte{}, 3, false, ProblemEmpty, 0},
		{"empty, nothing acknowledged", []byte{}, 0, false, ProblemEmpty, 0},
		{"rolled back", doc3, 4, false, ProblemRolledBack, 3},
		{"rolled back far", doc3, 9, false, ProblemRolledBack, 3},
		{"cut short", doc3[:len(doc3)/2], 3, false, ProblemTorn, 0},
		{"one byte short", doc3[:len(doc3)-3], 3, false, ProblemTorn, 0},
		{"zeros where data was", zeroTail, 3, false, ProblemTorn, 0},
		{"zeros after the data", append(bytes.Clone(doc3), make([]byte, 4096)...), 3, false, ProblemTorn, 0},
		{"two versions mixed", append(bytes.Clone(doc4[:4096]), doc3[4096:]...), 3, false, ProblemTorn, 0},
		{"payload changed", flipped, 3, false, ProblemTorn, 0},
		{"version changed", otherVersion, 3, false, ProblemTorn, 0},
		{"not JSON", []byte("hello\n"), 3, false, ProblemTorn, 0},
		{"a version never written", Encode(7, 8192), 3, false, ProblemTorn, 7},
	}
	dir := testdir.New(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
			if c.content != nil {
				if err := os.WriteFile(path, c.content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			v := Check(path, c.lastAck)
			if v.OK != c.ok || v.Problem != c.problem || v.Version != c.version {
				t.Errorf("Check = %+v, want ok=%v problem=%q version=%d", v, c.ok, c.problem, c.version)
			}
			if !v.OK && v.Detail == "" {
				t.Error("a failed verdict has no detail")
			}
		})
	}
}

func TestCheckRange(t *testing.T) {
	path := filepath.Join(testdir.New(t), "f")
	if err := os.WriteFile(path, Encode(5, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lo, hi uint64
		ok     bool
	}{{5, 5, true}, {3, 8, true}, {6, 8, false}, {2, 4, false}} {
		if v := CheckRange(path, c.lo, c.hi); v.OK != c.ok {
			t.Errorf("CheckRange(%d, %d) = %v, want ok=%v", c.lo, c.hi, v, c.ok)
		}
	}
}

func TestTally(t *testing.T) {
	var a Tally
	for _, v := range []Verdict{
		{OK: true}, {OK: true}, {Problem: ProblemTorn}, {Problem: ProblemEmpty},
		{Problem: ProblemMissing}, {Problem: ProblemRolledBack}, {Problem: ProblemRolledBack},
	} {
		a.Add(v)
	}
	want := Tally{Rounds: 7, OK: 2, Torn: 1, Empty: 1, Missing: 1, RolledBack: 2}
	if a != want || a.Violations() != 5 {
		t.Errorf("tally = %+v (%d violations), want %+v", a, a.Violations(), want)
	}
	a.Merge(want)
	if a.Rounds != 14 || a.Violations() != 10 {
		t.Errorf("merged tally = %+v", a)
	}
}
