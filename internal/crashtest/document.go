package crashtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// DefaultSize is the default document size: large enough that a write is
// more than one page and one syscall's worth of work, small like the state
// files this project protects.
const DefaultSize = 64 << 10

// Encode returns version v of the test document, about size bytes of JSON:
//
//	{"version":v,"payload":["...",...],"check":"<sha256>"}
//
// The payload differs for every version and the check covers the version
// and the payload, so a file that mixes two versions, or ends early, or has
// zeros where data should be, fails Decode.
func Encode(v uint64, size int) []byte {
	if size <= 0 {
		size = DefaultSize
	}
	buf := make([]byte, 0, size+128)
	buf = append(buf, `{"version":`...)
	buf = strconv.AppendUint(buf, v, 10)
	buf = append(buf, `,"payload":[`...)
	start := len(buf) - 1 // the payload starts at its '['
	rng := rand.New(rand.NewPCG(v, 0x64757261626c65))
	var word [8]byte
	for i := 0; len(buf) < size-90 || i == 0; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = strconv.AppendUint(buf, v, 10)
		buf = append(buf, '-')
		buf = strconv.AppendInt(buf, int64(i), 10)
		for range 3 {
			x := rng.Uint64()
			for j := range word {
				word[j] = byte(x >> (8 * j))
			}
			buf = append(buf, '-')
			buf = hex.AppendEncode(buf, word[:])
		}
		buf = append(buf, '"')
	}
	buf = append(buf, ']')
	sum := checksum(v, buf[start:])
	buf = append(buf, `,"check":"`...)
	buf = hex.AppendEncode(buf, sum[:])
	buf = append(buf, "\"}\n"...)
	return buf
}

func checksum(v uint64, payload []byte) [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n", v)
	h.Write(payload)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// errEmpty is what Decode says about a zero-length file.
var errEmpty = errors.New("empty file")

// Decode returns the version of a complete document, or an error saying why
// data is not one.
func Decode(data []byte) (uint64, error) {
	if len(data) == 0 {
		return 0, errEmpty
	}
	var doc struct {
		Version *uint64         `json:"version"`
		Payload json.RawMessage `json:"payload"`
		Check   string          `json:"check"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return 0, fmt.Errorf("does not parse (%d bytes): %w", len(data), err)
	}
	if doc.Version == nil || doc.Payload == nil || doc.Check == "" {
		return 0, fmt.Errorf("incomplete document (%d bytes)", len(data))
	}
	sum := checksum(*doc.Version, doc.Payload)
	if doc.Check != hex.EncodeToString(sum[:]) {
		return 0, fmt.Errorf("checksum mismatch for version %d", *doc.Version)
	}
	return *doc.Version, nil
}
