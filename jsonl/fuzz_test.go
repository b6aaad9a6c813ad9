package jsonl_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/jsonl"
)

// FuzzRepair feeds arbitrary bytes to Scan and Repair and checks that they
// agree and that the repair keeps its promises:
//   - Repair refuses (ErrCorrupt, not torn, nothing changed) exactly when
//     Scan reports a corrupt line in the middle;
//   - otherwise the file keeps exactly its first CutOffset bytes, plus a
//     newline when Terminated, the rest is in the evidence file, byte for
//     byte, and Scan of the result yields the same values as Scan of the
//     input, with no torn tail;
//   - Scan reports a torn tail exactly where Repair cuts;
//   - a second Repair changes nothing.
//
// The seed corpus is in testdata/fuzz/FuzzRepair; run it longer with
// go test -fuzz=FuzzRepair ./jsonl/.
func FuzzRepair(f *testing.F) {
	for _, tc := range tornCases {
		f.Add([]byte(tc.data))
	}
	// A crash's leftovers: a lost first block of the last write, later
	// lines kept.
	var w []byte
	for i := range 12 {
		w = append(w, line("n", 40+i)+"\n"...)
	}
	f.Add([]byte(lostBlock(line("s", 30)+"\n", string(w), 512)))
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "/log"
		var vals0 []string
		var mid []int
		var torn *jsonl.CorruptError
		for v, err := range jsonl.ScanReader(bytes.NewReader(data)) {
			var ce *jsonl.CorruptError
			switch {
			case err == nil:
				if torn != nil {
					t.Fatalf("Scan yielded %q after the torn tail", v)
				}
				vals0 = append(vals0, string(v))
			case errors.As(err, &ce) && ce.Torn:
				if torn != nil {
					t.Fatalf("two torn tails: %v, %v", torn, ce)
				}
				torn = ce
			case errors.As(err, &ce):
				mid = append(mid, ce.Line)
			default:
				t.Fatalf("Scan: %v", err)
			}
		}

		m := memWith(map[string]string{name: string(data)})
		rep, err := jsonl.Repair(name, &jsonl.Options{FS: m})
		if len(mid) > 0 {
			var ce *jsonl.CorruptError
			if !errors.Is(err, durable.ErrCorrupt) || errors.Is(err, jsonl.ErrTornTail) || !errors.As(err, &ce) || ce.Line != mid[0] {
				t.Fatalf("Scan found corrupt lines %v, Repair returned %v", mid, err)
			}
			if content(t, m, name) != string(data) || len(evidence(t, m, name)) > 0 {
				t.Fatalf("a refused repair changed something")
			}
			rep, err = jsonl.Repair(name, &jsonl.Options{FS: m, AllowCorrupt: true})
		}
		if err != nil {
			t.Fatalf("Repair: %v", err)
		}
		if rep.CorruptLines != len(mid) {
			t.Fatalf("report counts %d corrupt lines, Scan %d", rep.CorruptLines, len(mid))
		}

		after := []byte(content(t, m, name))
		keep := int64(len(data))
		if rep.CutBytes > 0 {
			keep = rep.CutOffset
		}
		want := slices.Clone(data[:keep])
		if rep.Terminated {
			want = append(want, '\n')
		}
		if !bytes.Equal(after, want) || rep.SizeAfter != int64(len(after)) || rep.SizeBefore != int64(len(data)) {
			t.Fatalf("repaired %q into %q (report %+v)", data, after, rep)
		}
		ev := evidence(t, m, name)
		switch {
		case rep.CutBytes == 0 && len(ev) > 0:
			t.Fatalf("nothing cut, evidence %q", ev)
		case rep.CutBytes > 0 && (len(ev) != 1 || ev[rep.Evidence] != string(data[keep:])):
			t.Fatalf("cut %q, evidence %q", data[keep:], ev)
		}
		if (torn != nil) != (rep.CutBytes > 0) || torn != nil && (torn.Offset != rep.CutOffset || torn.Length != rep.CutBytes) {
			t.Fatalf("Scan's torn tail %v disagrees with the repair %+v", torn, rep)
		}
		if len(after) > 0 && after[len(after)-1] != '\n' {
			t.Fatalf("repaired file does not end at a line boundary: %q", after)
		}

		vals1, errs := scanAll(m, name)
		for _, err := range errs {
			if errors.Is(err, jsonl.ErrTornTail) {
				t.Fatalf("repaired file still has a torn tail: %v", err)
			}
		}
		if len(errs) != len(mid) || fmt.Sprint(vals1) != fmt.Sprint(vals0) || rep.Lines != len(vals0) {
			t.Fatalf("Scan before the repair: %q (%d corrupt); after: %q, %v; report says %d lines",
				vals0, len(mid), vals1, errs, rep.Lines)
		}
		again, err := jsonl.Repair(name, &jsonl.Options{FS: m, AllowCorrupt: true})
		if err != nil || again.Changed() {
			t.Fatalf("second Repair: %v, %+v", err, again)
		}
	})
}
