package jsonenc

import (
	"bytes"
	"encoding/json"
	"unsafe"
)

// RawMember is one member of a JSON object as written: its key unescaped
// (Key) and with its quotes and escapes (Raw), and its value (Val).
type RawMember struct {
	Key      string
	Raw, Val []byte
}

func isObject(v []byte) bool {
	i := skipWS(v, 0)
	return i < len(v) && v[i] == '{'
}

// ObjectMembers splits a valid JSON object into its members, in order,
// duplicates included: the store reads its files with it, and merge
// patches are applied member by member.
func ObjectMembers(v []byte) []RawMember { return objectMembers(v, nil, false) }

// objectMembers is ObjectMembers appending to out; with alias, a key
// without escapes is a string over v's bytes rather than a copy, for a
// caller that neither changes v nor keeps the keys past v.
func objectMembers(v []byte, out []RawMember, alias bool) []RawMember {
	i := skipWS(v, 0) + 1
	for {
		i = skipWS(v, i)
		if i >= len(v) || v[i] == '}' {
			return out
		}
		if v[i] == ',' {
			i = skipWS(v, i+1)
		}
		end := skipStr(v, i)
		raw := v[i:end]
		var key string
		if bytes.IndexByte(raw, '\\') < 0 {
			if alias {
				key = unsafe.String(unsafe.SliceData(raw[1:]), len(raw)-2)
			} else {
				key = string(raw[1 : len(raw)-1])
			}
		} else if err := json.Unmarshal(raw, &key); err != nil {
			key = string(raw)
		}
		i = skipWS(v, end)
		i = skipWS(v, i+1) // the colon
		vend := skipVal(v, i)
		out = append(out, RawMember{Key: key, Raw: raw, Val: v[i:vend]})
		i = vend
	}
}

func skipWS(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n') {
		i++
	}
	return i
}

// skipStr returns the index after the string that starts at v[i].
func skipStr(v []byte, i int) int {
	for i++; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipVal returns the index after the value that starts at v[i].
func skipVal(v []byte, i int) int {
	if i >= len(v) {
		return i
	}
	switch v[i] {
	case '"':
		return skipStr(v, i)
	case '{', '[':
		depth := 0
		for ; i < len(v); i++ {
			switch v[i] {
			case '"':
				i = skipStr(v, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(v) && !bytes.ContainsRune([]byte(",}] \t\r\n"), rune(v[i])) {
		i++
	}
	return i
}
