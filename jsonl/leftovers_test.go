package jsonl_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/jsonl"
)

// lostBlock builds a file of synced lines up to a line boundary, then a
// last write whose bytes from the synced end up to the next block boundary
// (of size block) read as zeros, followed by the rest of the write:
// the state a crash leaves when the write's first block was lost and its
// later ones kept.
func lostBlock(synced, write string, block int) string {
	d := []byte(synced + write)
	end := (len(synced)/block + 1) * block
	for i := len(synced); i < end && i < len(d); i++ {
		d[i] = 0
	}
	return string(d)
}

func TestOpenCutsCrashLeftovers(t *testing.T) {
	synced := line("old-1", 100) + "\n" + line("old-2", 300) + "\n"
	var w strings.Builder
	for i := range 40 {
		w.WriteString(line("new", 60+i) + "\n")
	}
	write := w.String()
	for _, block := range []int{512, 4096} {
		for _, durability := range []durable.Durability{durable.Full, durable.Cache} {
			data := lostBlock(synced, write, block)
			m := memWith(map[string]string{"/l": data})
			f, err := jsonl.Open("/l", &jsonl.Options{FS: m, Durability: durability})
			if err != nil {
				t.Fatalf("block %d, %v: Open refused a crash's leftovers: %v", block, durability, err)
			}
			rep := f.Report()
			if got := content(t, m, "/l"); got != synced {
				t.Errorf("block %d: after Open the file holds %d bytes, want the %d synced", block, len(got), len(synced))
			}
			if ev := evidence(t, m, "/l"); ev[rep.Evidence] != data[len(synced):] || !rep.Zeros {
				t.Errorf("block %d: the leftovers are not in the evidence file (report %+v)", block, rep)
			}
			if err := f.Append(context.Background(), rec{ID: "next"}); err != nil {
				t.Fatal(err)
			}
			f.Close()
			// Scan says the same.
			var torn *jsonl.CorruptError
			n := 0
			for v, err := range jsonl.ScanReader(strings.NewReader(data)) {
				if err != nil && !errors.As(err, &torn) {
					t.Fatalf("Scan: %v", err)
				}
				if v != nil {
					n++
				}
			}
			if torn == nil || !torn.Torn || torn.Offset != int64(len(synced)) || n != 2 {
				t.Errorf("block %d: Scan yields %d values and %v, want 2 and a torn tail at %d", block, n, torn, len(synced))
			}
		}
	}
}

// Zeros of another shape, or too far from the end, are damage: refused.
func TestOpenRefusesZerosUnlikeLostBlocks(t *testing.T) {
	synced := line("old-1", 100) + "\n" + line("old-2", 300) + "\n"
	var w strings.Builder
	for i := range 40 {
		w.WriteString(line("new", 60+i) + "\n")
	}
	write := w.String()
	short := []byte(synced + write)
	for i := len(synced) + 3; i < len(synced)+40; i++ {
		short[i] = 0 // a run that starts mid-line, off any boundary
	}
	unaligned := []byte(lostBlock(synced, write, 512))
	unaligned[((len(synced)/512)+1)*512] = 0 // the run ends one byte late
	var far strings.Builder
	for range 1500 {
		far.WriteString(line("far", 800) + "\n")
	}
	cases := map[string]string{
		"starts mid-line":            string(short),
		"ends off a boundary":        string(unaligned),
		"more than a batch from end": lostBlock(synced, far.String()[:strings.LastIndexByte(far.String()[:400<<10], '\n')+1], 4096),
		"then a garbage line":        lostBlock(synced, write, 512) + "not json\n" + line("after", 1) + "\n",
	}
	for name, data := range cases {
		m := memWith(map[string]string{"/l": data})
		_, err := jsonl.Open("/l", &jsonl.Options{FS: m})
		var ce *jsonl.CorruptError
		if !errors.As(err, &ce) || ce.Torn {
			t.Errorf("%s: Open = %v, want a refusal of damage in the middle", name, err)
		}
		if got := content(t, m, "/l"); got != data {
			t.Errorf("%s: a refused Open changed the file", name)
		}
	}
	// With durable.Cache appends are fsynced only when the file grows past
	// a multiple of the batch (256 KiB), so a lost block may lie up to two
	// batches from the end: cut then, where durable.Full refuses it.
	var mid strings.Builder
	for mid.Len() < 384<<10 {
		mid.WriteString(line("mid", 800) + "\n")
	}
	data := lostBlock(far.String(), mid.String(), 4096)
	for _, d := range []durable.Durability{durable.Cache, durable.Full} {
		m := memWith(map[string]string{"/l": data})
		f, err := jsonl.Open("/l", &jsonl.Options{FS: m, Durability: d})
		if d == durable.Full {
			var ce *jsonl.CorruptError
			if !errors.As(err, &ce) || ce.Torn || ce.Offset != int64(far.Len()) {
				t.Errorf("Full: Open = %v, want the zeros at byte %d refused", err, far.Len())
			}
			continue
		}
		if err != nil {
			t.Fatalf("Cache: Open refused a crash's leftovers 384 KiB from the end: %v", err)
		}
		if rep := f.Report(); rep.CutOffset != int64(far.Len()) || rep.CheckedFrom == 0 {
			t.Errorf("Cache: report %+v, want the leftovers cut at %d by a check of the end only", rep, far.Len())
		}
		f.Close()
	}
}
