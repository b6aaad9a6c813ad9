package main

import (
	"encoding/base64"
	"encoding/hex"
	"unicode/utf8"

	"github.com/durable-go/durable/journal"
)

// The --json schema, the same for every verb:
//
//   - field names are snake_case; every verb prints one JSON object (or,
//     for verbs that stream, one object per line);
//   - an error is {"error": "...", "code": N}, N the exit code;
//   - hashes (Merkle roots, leaf hashes, proof nodes) are standard base64,
//     as in the signed checkpoint text; a log's ID is hex, as in its origin
//     line;
//   - a record's or message's payload is always in "payload": the text
//     when it is valid UTF-8 ("payload_encoding": "text"), otherwise its
//     bytes in standard base64 ("payload_encoding": "base64");
//   - times are RFC 3339 in UTC.

// hashJSON is h as every --json output spells a hash.
func hashJSON(h journal.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// payloadJSON is b as "payload" and "payload_encoding".
func payloadJSON(b []byte) (payload, encoding string) {
	if utf8.Valid(b) {
		return string(b), "text"
	}
	return base64.StdEncoding.EncodeToString(b), "base64"
}

// checkpointJSON is a checkpoint in --json output.
type checkpointJSON struct {
	Origin  string   `json:"origin"`
	LogID   string   `json:"log_id"`
	Size    uint64   `json:"size"`
	Root    string   `json:"root"`
	Signers []string `json:"signers"`
}

func newCheckpointJSON(cp *journal.Checkpoint) *checkpointJSON {
	if cp == nil {
		return nil
	}
	signers := cp.Signers
	if signers == nil {
		signers = []string{}
	}
	return &checkpointJSON{cp.Origin, hex.EncodeToString(cp.LogID[:]), cp.Size, hashJSON(cp.Root), signers}
}

// verifyReportJSON is "log verify --json": the report of journal.Verify.
type verifyReportJSON struct {
	OK                 bool            `json:"ok"`
	Error              string          `json:"error,omitempty"`
	Code               int             `json:"code"`
	Dir                string          `json:"dir"`
	LogID              string          `json:"log_id"`
	Segments           int             `json:"segments"`
	First              uint64          `json:"first"`
	Size               uint64          `json:"size"`
	Records            uint64          `json:"records"`
	Batches            uint64          `json:"batches"`
	Root               string          `json:"root"`
	Torn               *tornJSON       `json:"torn,omitempty"`
	Checkpoint         *checkpointJSON `json:"checkpoint,omitempty"`
	CheckpointVerified bool            `json:"checkpoint_verified"`
	Remembered         *checkpointJSON `json:"remembered,omitempty"`
	Notes              []string        `json:"notes"`
	Warnings           []string        `json:"warnings"`
}

type tornJSON struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	Bytes  int64  `json:"bytes"`
}

func newVerifyReportJSON(rep *journal.Report, err error) verifyReportJSON {
	o := verifyReportJSON{OK: err == nil, Code: exitCode(err), Notes: []string{}, Warnings: []string{}}
	if err != nil {
		o.Error = errorText(err)
	}
	if rep == nil {
		return o
	}
	o.Dir, o.LogID, o.Segments = rep.Dir, rep.LogID, rep.Segments
	o.First, o.Size, o.Records, o.Batches = rep.First, rep.Size, rep.Records, rep.Batches
	o.Root = hashJSON(rep.Root)
	if t := rep.Torn; t != nil {
		o.Torn = &tornJSON{t.Path, t.Offset, t.Bytes}
	}
	o.Checkpoint = newCheckpointJSON(rep.Checkpoint)
	o.CheckpointVerified = rep.CheckpointVerified
	o.Remembered = newCheckpointJSON(rep.Remembered)
	if rep.Notes != nil {
		o.Notes = rep.Notes
	}
	if rep.Warnings != nil {
		o.Warnings = rep.Warnings
	}
	return o
}

// indexRange says which indices n records from first hold, for people:
// "indices 0 to 3", "index 7", or "no records".
func indexRange(first, n uint64) string {
	switch n {
	case 0:
		return "no records"
	case 1:
		return "index " + utoa(first)
	}
	return "indices " + utoa(first) + " to " + utoa(first+n-1)
}

func utoa(u uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			return string(b[i:])
		}
	}
}
