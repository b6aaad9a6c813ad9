package crashtest

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-go/durable/internal/testdir"
)

func TestLogRecord(t *testing.T) {
	for _, seq := range []uint64{1, 2, 1 << 40} {
		line := NewLogRecord(seq).Encode()
		if got, err := DecodeRecord(line); err != nil || got != seq {
			t.Fatalf("DecodeRecord(record %d) = %d, %v", seq, got, err)
		}
		if _, err := DecodeRecord(line[:len(line)-3]); err == nil {
			t.Errorf("record %d cut short decodes", seq)
		}
		bad := bytes.Clone(line)
		bad[len(bad)/2] ^= 1
		if _, err := DecodeRecord(bad); err == nil {
			t.Errorf("record %d with a flipped bit decodes", seq)
		}
		if _, err := DecodeRecord(append(bytes.Clone(line), NewLogRecord(seq+1).Encode()...)); err == nil {
			t.Errorf("two glued records decode")
		}
	}
}

func lines(seqs ...uint64) []byte {
	var b []byte
	for _, s := range seqs {
		b = append(append(b, NewLogRecord(s).Encode()...), '\n')
	}
	return b
}

func TestParseLinesAndJudge(t *testing.T) {
	st := newLogState()
	st.ack(1, 3)
	rec4 := NewLogRecord(4).Encode()
	torn := append(lines(1, 2, 3), rec4[:20]...) // record 4 torn
	v := st.judge(ParseLines(torn))
	if v.OK || !v.Torn || v.Lost != 0 || v.Corrupt != 0 || v.Records != 3 || st.next != 4 {
		t.Fatalf("torn tail: %+v (next %d)", v, st.next)
	}
	// The same torn tail is not counted twice.
	if v := st.judge(ParseLines(torn)); !v.OK {
		t.Fatalf("torn tail counted again: %+v", v)
	}
	// Records 4 and 5 acknowledged; 4 glued to the torn line, 5 intact.
	st.ack(4, 5)
	glued := append(append(bytes.Clone(torn), lines(4, 5)...), make([]byte, 10)...)
	v = st.judge(ParseLines(glued))
	if v.OK || !v.Torn || v.Lost != 1 || v.Corrupt != 0 || !strings.Contains(v.Detail, "lost (4)") {
		t.Fatalf("glued and zeros: %+v", v)
	}
	// Lost records are counted once.
	if v := st.judge(ParseLines(glued)); !v.OK {
		t.Fatalf("counted again: %+v", v)
	}
	// A duplicate and a garbled line in the middle are corrupt.
	st = newLogState()
	dup := append(lines(1, 1, 2), []byte("garbage\n")...)
	dup = append(dup, lines(3)...)
	v = st.judge(ParseLines(dup))
	if v.OK || v.Torn || v.Corrupt != 2 {
		t.Fatalf("duplicate and garbage: %+v", v)
	}
}

func TestFileLogMissing(t *testing.T) {
	c, err := FileLog(filepath.Join(testdir.New(t), "nothing.log")).Read(context.Background())
	if err != nil || len(c.Entries) != 0 || len(c.Damage) != 0 || len(c.Failures) != 0 {
		t.Fatalf("missing log: %+v, %v", c, err)
	}
	st := newLogState()
	st.ack(1, 2)
	if v := st.judge(c); v.Lost != 2 {
		t.Fatalf("missing log with acks: %+v", v)
	}
}

func TestSpans(t *testing.T) {
	if got := spans([]uint64{1, 2, 3, 5, 7, 8}); got != "1..3, 5, 7..8" {
		t.Errorf("spans = %q", got)
	}
}
