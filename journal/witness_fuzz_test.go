package journal

import (
	"bytes"
	"testing"
)

// The decoders of the files and payloads checkpoints and witnesses use:
// never a panic, and what parses re-encodes to the same meaning.
func FuzzSignedFormats(f *testing.F) {
	f.Add([]byte(memory{"example.com/log": {Origin: "example.com/log", Size: 7, Root: Hash{1}}}.marshal()))
	f.Add(marshalWitnesses([]WitnessInfo{{Name: "w1", URL: "http://x", Key: "k+00000000+AQ==", Size: 3}}))
	f.Add([]byte("drop-before 8\nprose\nanchor 3 " + Hash{2}.Base64() + " " + Hash{3}.Base64() + "," + Hash{4}.Base64()))
	f.Add([]byte("example.com/log\n5\n" + Hash{5}.Base64() + "\nextension\n"))
	f.Add([]byte("old 3\n" + Hash{6}.Base64() + "\n\nexample.com/log\n5\n" + Hash{5}.Base64() + "\n\n— example.com/log AAAA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := parseMemory(data); err == nil {
			m2, err := parseMemory(m.marshal())
			if err != nil || len(m2) != len(m) {
				t.Fatalf("memory does not round-trip: %v", err)
			}
			for k, v := range m {
				if m2[k] != v {
					t.Fatalf("memory entry %q changed", k)
				}
			}
		}
		if ws, err := parseWitnesses(data); err == nil {
			if b := marshalWitnesses(ws); !bytes.Equal(b, data) {
				if ws2, err := parseWitnesses(b); err != nil || len(ws2) != len(ws) {
					t.Fatalf("witnesses do not round-trip: %v", err)
				}
			}
		}
		if r, err := parseRetention(5, data); err == nil {
			for i, a := range r.anchors {
				if a.size >= r.first || i > 0 && r.anchors[i-1].size >= a.size {
					t.Fatalf("anchors out of order accepted: %+v", r)
				}
			}
			r.proves(Hash{}, 1, Hash{})
		}
		if c, err := parseCheckpointText(string(data)); err == nil && c.Origin == "" {
			t.Fatal("a checkpoint without an origin parsed")
		}
		w := &WitnessServer{state: map[string]Signed{}}
		if _, code, err := w.add(bg, data); err == nil || code == 200 {
			t.Fatalf("a witness with no known log answered %d", code)
		}
	})
}
