package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// One rule for the JSON that durable writes, in jsonl, store and
// write --check-json alike: RFC 8259 JSON that every reader can load back
// (the I-JSON profile of RFC 7493). The text is valid UTF-8, and every
// number fits a float64 (1e400 does not: a typed reader with a float64 field
// would refuse the file). Integers beyond 2^53 are kept exactly as written.
func checkJSONValue(b []byte) error {
	if !utf8.Valid(b) {
		return errors.New("is not valid UTF-8")
	}
	if !json.Valid(b) {
		return errors.New("is not valid JSON")
	}
	return checkNumbers(bytes.NewReader(b))
}

// checkNumbers walks the JSON in r token by token and refuses a number
// that overflows a float64.
func checkNumbers(r io.Reader) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("is not valid JSON: %w", err)
		}
		if n, ok := tok.(json.Number); ok {
			if err := checkNumber(string(n)); err != nil {
				return err
			}
		}
	}
}

func checkNumber(n string) error {
	f, err := strconv.ParseFloat(n, 64)
	if err != nil || math.IsInf(f, 0) {
		return fmt.Errorf("has the number %.40s, beyond the range of a float64", n)
	}
	return nil
}

// utf8Reader passes r through and fails at the first byte that is not
// valid UTF-8, keeping an incomplete sequence at the end of one read for
// the next.
type utf8Reader struct {
	r    io.Reader
	off  int64
	tail []byte
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	buf := append(u.tail, p[:n]...)
	i := 0
	for i < len(buf) {
		if buf[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(buf[i:])
		if r == utf8.RuneError && size <= 1 {
			if !utf8.FullRune(buf[i:]) && err == nil {
				break // the rest of the sequence comes with the next read
			}
			return 0, fmt.Errorf("is not valid UTF-8 at byte %d", u.off+int64(i))
		}
		i += size
	}
	u.off += int64(i)
	u.tail = append(u.tail[:0], buf[i:]...)
	return n, err
}
