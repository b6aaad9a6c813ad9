package jsonenc

// appendCompact appends a leaf's encoding compact, as json.Compact writes
// it. A leaf's encoding is encodeLeaf's: encoding/json's output (valid
// JSON: it checks what marshalers write), indented by json.Indent when it
// is an object or an array. Compacting valid JSON only drops the spaces,
// tabs and newlines outside strings, which is done here by hand: every
// update renders its changed leaves, and json.Compact's scanner cost as
// much as the rest of the patch (TestAppendCompact, FuzzAppendCompact).
func appendCompact(b, enc []byte) []byte {
	if len(enc) == 0 || enc[0] != '{' && enc[0] != '[' {
		return append(b, enc...) // encodeLeaf indents nothing else
	}
	start, inStr := 0, false
	for i := 0; i < len(enc); i++ {
		switch c := enc[i]; {
		case inStr:
			switch c {
			case '\\':
				i++ // the escaped byte, whatever it is
			case '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			b = append(b, enc[start:i]...)
			start = i + 1
		}
	}
	return append(b, enc[start:]...)
}
