package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
)

// encodeRecord writes its header by hand: it must be what encoding/json
// writes, for every kind of record.
func TestEncodeRecordIsJSON(t *testing.T) {
	h := snapshotHash([]byte("{}"))
	for _, hd := range []logHeader{
		{Op: opFold, Rev: h}, {Op: opFold}, {Op: opPatch, Base: h}, {Op: opPatch},
		{Op: opWhole, Base: h}, {Op: opWhole},
	} {
		body := []byte(`{"a":1}`)
		if hd.Op == opFold {
			body = nil
		}
		hd.Format = LogFormatVersion
		want, err := json.Marshal(hd)
		if err != nil {
			t.Fatal(err)
		}
		want = append(append(want, '\n'), body...)
		got := encodeRecord(logHeader{Op: hd.Op, Base: hd.Base, Rev: hd.Rev}, body)
		if !bytes.Equal(got, want) {
			t.Errorf("encodeRecord writes\n%s\nencoding/json\n%s", got, want)
		}
		if _, err := decodeRecord(1, got); err != nil {
			t.Errorf("%s: %v", got, err)
		}
	}
}

// logRev builds its input by hand: it must name the version as the
// format it replaces did, so that revisions stay comparable.
func TestLogRevFormat(t *testing.T) {
	s, err := Open[map[string]int](filepath.Join(testdir.New(t), "doc.json"), &Options[map[string]int]{Log: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Update(t.Context(), func(m *map[string]int) error {
		if *m == nil {
			*m = map[string]int{}
		}
		(*m)["a"]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	lm := s.log
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if lm.npend == 0 {
		t.Fatal("no patch pending")
	}
	id := lm.j.LogID()
	want := durable.RevOf(fmt.Appendf(nil, "durable store log\n%x\n%s\n%d\n", id, lm.gen, lm.last))
	if got := s.logRev(); got != want {
		t.Fatalf("logRev = %v, want %v", got, want)
	}
}

// decodeHeaderOnly is decodeRecord's header as encoding/json alone reads
// it: what parseHeader must agree with.
func decodeHeaderOnly(line []byte) (logHeader, bool) {
	var h logHeader
	err := decodeHeader(line, &h)
	return h, err == nil
}

// parseHeader reads every header encodeRecord writes, and a line it reads
// is one that encoding/json reads the same; lines it does not take
// (escapes, other orders, spaces, unknown or repeated fields, another
// format) are left to encoding/json, and decodeRecord answers for them
// exactly as before.
func TestParseHeader(t *testing.T) {
	h := snapshotHash([]byte("{}"))
	for _, hd := range []logHeader{
		{Op: opFold, Rev: h}, {Op: opFold}, {Op: opPatch, Base: h}, {Op: opPatch},
		{Op: opWhole, Base: h}, {Op: opWhole}, {Op: "other", Base: "x", Rev: "y"},
	} {
		line, _, _ := bytes.Cut(encodeRecord(hd, nil), []byte("\n"))
		got, ok := parseHeader(line)
		hd.Format = LogFormatVersion
		if !ok || got != hd {
			t.Errorf("parseHeader(%s) = %+v, %v; want %+v", line, got, ok, hd)
		}
	}
	for _, line := range []string{
		`{"format":1,"op":"pa\u0074ch"}`,
		`{"format":1,"op":"patch","base":"a\"b"}`,
		`{"format":1,"op":"patch","base":""}`,
		`{"format":1,"op":"patch","rev":"x","base":"y"}`,
		`{"format":1, "op":"patch"}`,
		`{"format":1,"op":"patch","op":"fold"}`,
		`{"format":1,"op":"patch","more":1}`,
		`{"format":1,"op":"patch"} `,
		`{"format":1,"op":"patch"}{}`,
		`{"format":2,"op":"patch"}`,
		`{"format":1,"op":"p` + "\xff" + `"}`,
		`{"format":1,"op":"p` + "\x01" + `"}`,
		`{"format":1,"op":"patch"`,
		`{"format":1,"op":"`,
	} {
		checkParseHeader(t, []byte(line))
	}
}

// checkParseHeader: what parseHeader takes, encoding/json decodes to the
// same header, and decodeRecord gives the same answer either way.
func checkParseHeader(t *testing.T, line []byte) {
	t.Helper()
	got, ok := parseHeader(line)
	want, wok := decodeHeaderOnly(line)
	if ok && (!wok || got != want) {
		t.Errorf("parseHeader(%q) = %+v; encoding/json: %+v, %v", line, got, want, wok)
	}
	for _, body := range []string{"", "{}"} {
		payload := append(append(bytes.Clone(line), '\n'), body...)
		r, err := decodeRecord(7, payload)
		var slow logRecord
		serr := func() error {
			slow = logRecord{index: 7, size: len(payload)}
			if err := decodeHeader(line, &slow.logHeader); err != nil {
				return err
			}
			s, err := decodeRecordFrom(slow, []byte(body))
			slow = s
			return err
		}()
		if (err == nil) != (serr == nil) || err == nil && (r.logHeader != slow.logHeader || !bytes.Equal(r.body, slow.body)) {
			t.Errorf("decodeRecord(%q) = %+v, %v; through encoding/json: %+v, %v", payload, r, err, slow, serr)
		}
	}
}

// FuzzParseHeader: parseHeader against encoding/json on any line.
func FuzzParseHeader(f *testing.F) {
	h := snapshotHash([]byte("{}"))
	for _, hd := range []logHeader{{Op: opFold, Rev: h}, {Op: opPatch, Base: h}, {Op: opWhole}} {
		line, _, _ := bytes.Cut(encodeRecord(hd, nil), []byte("\n"))
		f.Add(line)
	}
	f.Add([]byte(`{"format":1,"op":"pa\u0074ch"}`))
	f.Add([]byte(`{"format":1,"op":"patch","base":""}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.IndexByte(line, '\n') >= 0 {
			return // a header is one line
		}
		checkParseHeader(t, line)
	})
}
