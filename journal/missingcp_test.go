package journal

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// With a trusted key, a checkpoint that is missing — deleted alone, or
// with the segment it covered — is tampering, and the error says how many
// records nothing vouches for.
func TestMissingCheckpointWithKey(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name  string
		lastS bool
	}{{"checkpoint deleted", false}, {"checkpoint and last segment deleted", true}} {
		t.Run(c.name, func(t *testing.T) {
			m := f.copy()
			m.Remove(filepath.Join(tamperDir, checkpointName))
			if c.lastS {
				segs := segPaths(t, m)
				m.Remove(segs[len(segs)-1])
			}
			rep, err := f.verify(m, nil)
			if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "covered by no signed checkpoint") {
				t.Fatalf("Verify with the key: %v, want ErrTampered naming the uncovered records", err)
			}
			if rep.Uncovered == 0 || rep.Uncovered != rep.Size-rep.First {
				t.Fatalf("uncovered %d of %d", rep.Uncovered, rep.Size)
			}
			if !strings.Contains(err.Error(), strconv.FormatUint(rep.Uncovered, 10)+" records") {
				t.Fatalf("the error does not count them: %v", err)
			}
			// Without a key there is nothing to check against: a warning.
			if rep, err := Verify(bg, tamperDir, &VerifyOptions{FS: m}); err != nil || len(rep.Warnings) == 0 {
				t.Fatalf("Verify without a key: %v %v", err, rep.Warnings)
			}
		})
	}
	// Records after the checkpoint are counted too.
	m := f.copy()
	j := mustOpen(t, tamperDir, &Options{FS: m, SegmentSize: 4096})
	for k := range 3 {
		j.Append(bg, payload(k))
	}
	j.Close()
	if rep, err := f.verify(m, nil); err != nil || rep.Uncovered != 3 {
		t.Fatalf("Verify: %v, uncovered %d, want 3", err, rep.Uncovered)
	}
}

// A remembered checkpoint that is empty or not a checkpoint at all is the
// caller's mistake or damage (ErrCorrupt), not tampering.
func TestRememberedThatIsNoCheckpoint(t *testing.T) {
	f := newFixture(t)
	for _, rem := range []string{"", "\n", "hello\n", "durable-journal/00\n5\n"} {
		_, err := f.verify(f.copy(), []byte(rem))
		if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTampered) {
			t.Errorf("remembered %q: %v, want ErrCorrupt and not ErrTampered", rem, err)
		}
	}
	// One signed by another key is tampering still.
	cp, _ := ParseCheckpoint(f.cpFull, nil)
	if _, err := f.verify(f.copy(), signWith(t, f.other, cp.Origin, cp.Size, cp.Root)); !errors.Is(err, ErrTampered) {
		t.Errorf("remembered, signed by another key: %v", err)
	}
}
