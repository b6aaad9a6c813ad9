package crashtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// The problems Check reports. Each is a broken promise: an atomic, durable
// replace never leaves any of them behind.
const (
	ProblemMissing    = "missing"      // the file is gone though a version was acknowledged
	ProblemEmpty      = "empty"        // the file has no bytes
	ProblemTorn       = "torn/corrupt" // it does not parse or fails its checksum
	ProblemRolledBack = "rolled back"  // it is older than the last acknowledged version
)

// Verdict is what Check found in the file.
type Verdict struct {
	Version uint64 // the version in the file; 0 if there is none
	OK      bool
	Problem string // one of the Problem constants when !OK
	Detail  string // a human explanation of the problem
}

func (v Verdict) String() string {
	if v.OK {
		if v.Version == 0 {
			return "ok (no file yet)"
		}
		return fmt.Sprintf("ok (version %d)", v.Version)
	}
	return v.Problem + ": " + v.Detail
}

// Check reads the file at path after a crash and judges it against the last
// version the writer acknowledged. The file must hold lastAck or, if the
// write in flight landed, lastAck+1; a missing file is fine only while
// nothing has been acknowledged.
func Check(path string, lastAck uint64) Verdict {
	return CheckRange(path, lastAck, lastAck+1)
}

// CheckRange is Check for when the acknowledgements are known only as a
// range: the file must hold a complete version in [lo, hi]. A power-cut
// round uses it because acks that were still in the pipe when the power
// was cut were durable but not yet seen.
func CheckRange(path string, lo, hi uint64) Verdict {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if lo == 0 {
			return Verdict{OK: true}
		}
		return Verdict{Problem: ProblemMissing, Detail: fmt.Sprintf("file is gone, version %d was acknowledged", lo)}
	case err != nil:
		return Verdict{Problem: ProblemTorn, Detail: "cannot read: " + err.Error()}
	case len(data) == 0:
		return Verdict{Problem: ProblemEmpty, Detail: fmt.Sprintf("file is empty, version %d was acknowledged", lo)}
	}
	v, err := Decode(data)
	switch {
	case err != nil:
		return Verdict{Problem: ProblemTorn, Detail: err.Error()}
	case v < lo:
		return Verdict{Version: v, Problem: ProblemRolledBack,
			Detail: fmt.Sprintf("file holds version %d, version %d was acknowledged", v, lo)}
	case v > hi:
		// No writer ever wrote it: the content can only be corrupt.
		return Verdict{Version: v, Problem: ProblemTorn,
			Detail: fmt.Sprintf("file holds version %d, but no write after %d had begun", v, hi)}
	}
	return Verdict{Version: v, OK: true}
}

// Tally counts verdicts by problem.
type Tally struct {
	Rounds     int `json:"rounds"`
	OK         int `json:"ok"`
	Torn       int `json:"torn_corrupt"`
	Empty      int `json:"empty"`
	Missing    int `json:"missing"`
	RolledBack int `json:"rolled_back"`
}

// Add counts one verdict.
func (t *Tally) Add(v Verdict) {
	t.Rounds++
	if v.OK {
		t.OK++
		return
	}
	switch v.Problem {
	case ProblemEmpty:
		t.Empty++
	case ProblemMissing:
		t.Missing++
	case ProblemRolledBack:
		t.RolledBack++
	default:
		t.Torn++
	}
}

// Merge adds the counts of u.
func (t *Tally) Merge(u Tally) {
	t.Rounds += u.Rounds
	t.OK += u.OK
	t.Torn += u.Torn
	t.Empty += u.Empty
	t.Missing += u.Missing
	t.RolledBack += u.RolledBack
}

// Violations is the number of rounds that broke the promise.
func (t Tally) Violations() int { return t.Rounds - t.OK }

func (t Tally) String() string {
	return fmt.Sprintf("%d rounds: %d ok, %d torn/corrupt, %d empty, %d missing, %d rolled back",
		t.Rounds, t.OK, t.Torn, t.Empty, t.Missing, t.RolledBack)
}
