package journal

import (
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/note"
)

// checkWitnesses counts the trusted witnesses' valid cosignatures on the
// stored checkpoint.
func (v *verifier) checkWitnesses(path string, data []byte) error {
	if len(v.o.Witnesses) == 0 {
		return nil
	}
	quorum := v.o.Quorum
	if quorum <= 0 {
		quorum = len(v.o.Witnesses)
	}
	if quorum > len(v.o.Witnesses) {
		return &Error{Op: "verify", Path: path, Offset: -1, Err: fmt.Errorf("quorum %d is more than the %d witnesses given", quorum, len(v.o.Witnesses))}
	}
	got := cosigners(data, v.o.Witnesses)
	v.rep.Cosigners = got
	if len(got) < quorum {
		return v.tampered(path, "the checkpoint carries valid cosignatures from %d of the trusted witnesses (%v), fewer than the quorum of %d: it was not witnessed, or the witnesses saw another log", len(got), got, quorum)
	}
	return nil
}

// cosigners returns the names of the witnesses among ws whose
// cosignatures on the note msg verify, each once.
func cosigners(msg []byte, ws []note.Verifier) []string {
	var names []string
	for _, w := range ws {
		// note.Open fails unless one of its keys verified a signature.
		if _, err := note.Open(msg, note.VerifierList(w)); err == nil && !slices.Contains(names, w.Name()) {
			names = append(names, w.Name())
		}
	}
	return names
}
