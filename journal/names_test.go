package journal

import "testing"

// The names a journal makes are the ones its classifiers recognise.
func TestNamesAreRecognised(t *testing.T) {
	for _, base := range []uint64{0, 1, 42, 1 << 40, ^uint64(0)} {
		if b, ok := ParseSegmentName(segName(base)); !ok || b != base {
			t.Errorf("ParseSegmentName(%q) = %d, %v", segName(base), b, ok)
		}
		for _, tmp := range []string{"." + segName(base) + ".tmp", ".dropped." + segName(base) + ".tmp"} {
			if !IsTempName(tmp) {
				t.Errorf("IsTempName(%q) = false", tmp)
			}
		}
		ev := evidenceName(base, 12345, []byte("torn bytes"))
		if !IsEvidenceName(ev) {
			t.Errorf("IsEvidenceName(%q) = false", ev)
		}
		if _, ok := ParseSegmentName(ev); ok || IsTempName(segName(base)) {
			t.Errorf("%q taken for a segment, or %q for a temp file", ev, segName(base))
		}
	}
	for _, bad := range []string{"1.seg", "0000000000000000000a.seg", "00000000000000000000.seg.tmp", "x.torn", "00000000000000000000-000000000001-zz.torn"} {
		if _, ok := ParseSegmentName(bad); ok {
			t.Errorf("ParseSegmentName(%q) accepted", bad)
		}
		if IsEvidenceName(bad) {
			t.Errorf("IsEvidenceName(%q) accepted", bad)
		}
	}
}
