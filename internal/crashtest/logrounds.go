package crashtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Defaults for the log drivers.
const (
	// DefaultLogKillPause is the MaxPause to give log writers under kill -9:
	// a few hundred records a round, the log growing by tens of KiB.
	DefaultLogKillPause = 2 * time.Millisecond
	// DefaultLogCutPause is the MaxPause to give log writers under power
	// cuts.
	DefaultLogCutPause = 5 * time.Millisecond
	// DefaultLogKillDelay bounds the random delay before a SIGKILL of a
	// log writer: records go out every millisecond or so, so a shorter
	// delay than a file writer's spans as many of them.
	DefaultLogKillDelay = 30 * time.Millisecond
	// DefaultLogCutDelay bounds the random delay, after the first ack,
	// before a power cut under a log writer.
	DefaultLogCutDelay = 80 * time.Millisecond
	// logRotateBytes is the size after which the driver starts a fresh log,
	// so that reading it after every crash stays cheap.
	logRotateBytes = 2 << 20
)

// A LogTarget reads a log after a crash the way its users would: a plain
// file with a line reader, a durable log through its own Open, which
// recovers. Read's error is for the harness failing; what is wrong with the
// log goes in the contents.
type LogTarget interface {
	Read(ctx context.Context) (LogContents, error)
	// Remove deletes the log and whatever it keeps beside it, to start
	// afresh.
	Remove() error
}

// FileLog is a plain file of newline-terminated records, read without
// repair (ParseLines); a missing file is an empty log.
type FileLog string

// Read reads the file.
func (p FileLog) Read(context.Context) (LogContents, error) {
	data, err := os.ReadFile(string(p))
	if errors.Is(err, fs.ErrNotExist) {
		return LogContents{}, nil
	}
	if err != nil {
		return LogContents{Failures: []string{"cannot read: " + err.Error()}}, nil
	}
	return ParseLines(data), nil
}

// Remove deletes the file and the files named after it (path.*: locks,
// evidence of repairs).
func (p FileLog) Remove() error {
	more, _ := filepath.Glob(string(p) + ".*")
	for _, name := range append([]string{string(p)}, more...) {
		if err := os.RemoveAll(name); err != nil {
			return err
		}
	}
	return nil
}

// LogVerdict is what one crash did to a log, counting only what earlier
// rounds did not already count.
type LogVerdict struct {
	Records  int  // intact records in the log
	OK       bool // nothing torn, lost or corrupt
	Torn     bool // the log ends in a torn or garbled record
	Lost     int  // acknowledged records that are gone or unreadable
	Corrupt  int  // garbled records before the end, duplicates, failed checks
	Repaired bool // the log's own recovery cut a torn tail
	Detail   string
}

func (v LogVerdict) String() string {
	if v.OK {
		s := fmt.Sprintf("ok (%d records)", v.Records)
		if v.Repaired {
			s += ", torn tail repaired"
		}
		return s
	}
	return v.Detail
}

// LogTally counts log verdicts.
type LogTally struct {
	Rounds   int `json:"rounds"`
	OK       int `json:"ok"`
	Torn     int `json:"torn"`              // rounds that left a torn last record
	Lost     int `json:"lost_acknowledged"` // acknowledged records lost
	Corrupt  int `json:"corrupt"`           // corrupt records and failed checks
	Repaired int `json:"repaired"`          // rounds whose torn tail the log's recovery cut
}

// Add counts one verdict.
func (t *LogTally) Add(v LogVerdict) {
	t.Rounds++
	if v.OK {
		t.OK++
	}
	if v.Torn {
		t.Torn++
	}
	t.Lost += v.Lost
	t.Corrupt += v.Corrupt
	if v.Repaired {
		t.Repaired++
	}
}

// Merge adds the counts of u.
func (t *LogTally) Merge(u LogTally) {
	t.Rounds += u.Rounds
	t.OK += u.OK
	t.Torn += u.Torn
	t.Lost += u.Lost
	t.Corrupt += u.Corrupt
	t.Repaired += u.Repaired
}

// Violations is the number of rounds that broke the promise.
func (t LogTally) Violations() int { return t.Rounds - t.OK }

func (t LogTally) String() string {
	return fmt.Sprintf("%d rounds: %d ok, %d torn, %d acknowledged records lost, %d corrupt, %d repaired",
		t.Rounds, t.OK, t.Torn, t.Lost, t.Corrupt, t.Repaired)
}

// LogRound is the outcome of one crash of a log writer.
type LogRound struct {
	N       int
	Kind    string // "kill" or "power cut"
	Start   uint64 // the first record the child was to append
	Acks    int    // records it acknowledged in this round
	LastAck uint64 // the last record it was held to (0: none)
	At      time.Duration
	Verdict LogVerdict
}

func (r LogRound) String() string {
	return fmt.Sprintf("%s %d: after %v, %d acks (records %d..%d): %v",
		r.Kind, r.N, r.At.Round(time.Millisecond), r.Acks, r.Start, r.LastAck, r.Verdict)
}

// logState is what the driver remembers of a log from round to round.
type logState struct {
	acked   map[uint64]bool // acknowledged, and not yet counted lost
	counted map[int64]bool  // damage already counted, by offset
	next    uint64          // above every record written so far
}

func newLogState() *logState {
	return &logState{acked: map[uint64]bool{}, counted: map[int64]bool{}, next: 1}
}

// ack holds the log to records from..to.
func (s *logState) ack(from, to uint64) {
	for n := from; n <= to && n != 0; n++ {
		s.acked[n] = true
	}
	s.next = max(s.next, to+1)
}

// judge compares what a reader found with what was acknowledged.
func (s *logState) judge(c LogContents) LogVerdict {
	v := LogVerdict{Records: len(c.Entries), Repaired: c.Repaired}
	var why []string
	seen := make(map[uint64]int, len(c.Entries))
	last := int64(-1)
	for _, e := range c.Entries {
		seen[e.Seq]++
		if seen[e.Seq] == 2 {
			v.Corrupt++
			why = append(why, fmt.Sprintf("record %d appears twice", e.Seq))
		}
		last = max(last, e.Offset)
		s.next = max(s.next, e.Seq+1)
	}
	tail := false
	for _, d := range c.Damage {
		isTail := d.Offset > last
		if isTail && tail {
			continue // the torn tail counts once
		}
		tail = tail || isTail
		if s.counted[d.Offset] {
			continue
		}
		s.counted[d.Offset] = true
		if isTail {
			v.Torn = true
			why = append(why, fmt.Sprintf("torn last record at byte %d: %s", d.Offset, d.Reason))
		} else {
			v.Corrupt++
			why = append(why, fmt.Sprintf("garbled record at byte %d: %s", d.Offset, d.Reason))
		}
	}
	for _, f := range c.Failures {
		v.Corrupt++
		why = append(why, f)
	}
	var lost []uint64
	for n := range s.acked {
		if seen[n] == 0 {
			lost = append(lost, n)
			delete(s.acked, n)
		}
	}
	if v.Lost = len(lost); v.Lost > 0 {
		slices.Sort(lost)
		why = append(why, fmt.Sprintf("%d acknowledged records lost (%s)", len(lost), spans(lost)))
	}
	v.OK = !v.Torn && v.Lost == 0 && v.Corrupt == 0
	v.Detail = strings.Join(why, "; ")
	return v
}

// spans writes sorted numbers as ranges: "3..7, 9".
func spans(ns []uint64) string {
	var parts []string
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d..%d", ns[i], ns[j]))
		} else {
			parts = append(parts, fmt.Sprint(ns[i]))
		}
		if len(parts) == 5 && j+1 < len(ns) {
			parts = append(parts, "...")
			break
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// check reads the log, judges it and, when it has grown large or is
// corrupt (so that one corruption is not counted again), starts a fresh
// one.
func (s *logState) check(ctx context.Context, t LogTarget) (LogVerdict, error) {
	c, err := t.Read(ctx)
	if err != nil {
		return LogVerdict{}, err
	}
	v := s.judge(c)
	if c.Bytes > logRotateBytes || v.Corrupt > 0 {
		if err := t.Remove(); err != nil {
			return v, fmt.Errorf("crashtest: start a fresh log: %w", err)
		}
		next := s.next
		*s = *newLogState()
		s.next = next
	}
	return v, nil
}

// LogKillRounds runs n rounds of: start the log writer child that spawn
// returns for cfg (with cfg.Start set above every record written so far),
// SIGKILL it after a random delay, then read the log through target and
// check that every record the child ever acknowledged is there, intact and
// once, and that nothing is torn or garbled. As in KillRounds, one kill in
// four is timed from the start, so that kills land in the writer's Open
// (and its recovery) too. The log starts empty.
func LogKillRounds(ctx context.Context, n int, cfg LogWriterConfig, spawn func(LogWriterConfig) *exec.Cmd, target LogTarget, report func(LogRound), opts ...Option) (LogTally, error) {
	c, rng := collect(DefaultLogKillDelay, opts)
	return logRounds(ctx, n, target, report, func(st *logState) (LogRound, error) {
		cfg.Start = st.next
		ch, at, err := killOnce(ctx, rng, c.maxDelay, func() *exec.Cmd { return spawn(cfg) })
		if err != nil {
			return LogRound{}, err
		}
		lr := LogRound{Kind: "kill", Start: cfg.Start, Acks: int(ch.acks.Load()), At: at}
		if lr.Acks > 0 {
			lr.LastAck = ch.lastAck.Load()
			st.ack(cfg.Start, lr.LastAck)
		}
		return lr, nil
	})
}

// LogPowerCutRounds runs n power cuts on m under the log writer, as
// PowerCutRounds does for a file: wait for the first ack and a random
// delay (in half the rounds, then for the next ack), shut the filesystem
// down without flushing its log, kill the child, remount and check the log
// through target. The child is held to the records it acknowledged before
// the cut; the log lives in m.
func LogPowerCutRounds(ctx context.Context, m *Mount, n int, cfg LogWriterConfig, spawn func(LogWriterConfig) *exec.Cmd, target LogTarget, report func(LogRound), opts ...Option) (LogTally, error) {
	c, rng := collect(DefaultLogCutDelay, opts)
	return logRounds(ctx, n, target, report, func(st *logState) (LogRound, error) {
		cfg.Start = st.next
		ch, lo, at, err := cutOnce(ctx, m, rng, c.maxDelay, func() *exec.Cmd { return spawn(cfg) })
		if err != nil {
			return LogRound{}, err
		}
		st.ack(cfg.Start, lo)
		st.next = max(st.next, ch.lastAck.Load()+1)
		return LogRound{Kind: "power cut", Start: cfg.Start, Acks: int(ch.acks.Load()), LastAck: lo, At: at}, nil
	})
}

// logRounds runs n rounds on a log that starts empty: crash crashes its
// writer once and says what it acknowledged, then the log is read through
// target, judged and reported.
func logRounds(ctx context.Context, n int, target LogTarget, report func(LogRound), crash func(*logState) (LogRound, error)) (LogTally, error) {
	var tally LogTally
	if err := target.Remove(); err != nil {
		return tally, err
	}
	st := newLogState()
	for i := 1; i <= n; i++ {
		lr, err := crash(st)
		if err != nil {
			return tally, err
		}
		lr.N = i
		if lr.Verdict, err = st.check(ctx, target); err != nil {
			return tally, err
		}
		tally.Add(lr.Verdict)
		if report != nil {
			report(lr)
		}
	}
	return tally, nil
}
