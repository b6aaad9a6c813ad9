package crashtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/durable-go/durable/vfs"
)

// Round is the outcome of one crash.
type Round struct {
	N       int           // 1-based
	Kind    string        // "kill" or "power cut"
	Before  uint64        // the version in the file when the round began
	Acks    int           // writes the child acknowledged in this round
	LastAck uint64        // the version the file was held to (Before if no ack)
	At      time.Duration // when the crash came, after the child started
	Verdict Verdict
}

func (r Round) String() string {
	return fmt.Sprintf("%s %d: after %v, %d acks (last %d): %v",
		r.Kind, r.N, r.At.Round(time.Millisecond), r.Acks, r.LastAck, r.Verdict)
}

// Defaults for the drivers, tuned so that the mutation check (file and
// directory fsyncs skipped on purpose) fails in every run while a correct
// writer never does. See the package tests and TestPowerCut.
const (
	// DefaultKillDelay bounds the random delay before a SIGKILL.
	DefaultKillDelay = 60 * time.Millisecond
	// DefaultCutDelay bounds the random delay, after the first ack, before
	// a power cut: long enough to span several writes and pauses.
	DefaultCutDelay = 150 * time.Millisecond
	// DefaultCutPause is the MaxPause to give writers under power cuts.
	DefaultCutPause = 20 * time.Millisecond
	// ackTimeout is how long a child may take to acknowledge its first
	// write before the harness gives up on it.
	ackTimeout = 30 * time.Second
)

// An Option adjusts a driver.
type Option func(*config)

type config struct {
	seed     uint64
	maxDelay time.Duration
	size     int
}

// WithSeed makes the crash timing reproducible (the delays drawn, not the
// scheduling of the machine).
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithMaxDelay bounds the random delay before each crash.
func WithMaxDelay(d time.Duration) Option { return func(c *config) { c.maxDelay = d } }

// WithSize sets the size of the document the driver itself writes to start
// from a known version (DefaultSize by default).
func WithSize(n int) Option { return func(c *config) { c.size = n } }

func collect(maxDelay time.Duration, opts []Option) (config, *rand.Rand) {
	c := config{maxDelay: maxDelay, size: DefaultSize}
	for _, o := range opts {
		o(&c)
	}
	seed := c.seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	return c, rand.New(rand.NewPCG(seed, 0x6b696c6c))
}

// KillRounds runs n rounds of: start the writer child that spawn returns
// (which must write to path), SIGKILL it after a random delay, then Check
// the file against the last version it acknowledged. In most rounds the
// delay runs from the first ack; in one round in four it runs from the
// start, so that kills also land in the child's first write. report, if not
// nil, is called after every round. The error is for the harness failing
// (a child that cannot start or acknowledges nothing), not for violations:
// those are in the rounds and the returned Tally.
func KillRounds(ctx context.Context, n int, spawn func() *exec.Cmd, path string, report func(Round), opts ...Option) (Tally, error) {
	c, rng := collect(DefaultKillDelay, opts)
	return fileRounds(path, c.size, n, report, func(base uint64) (Round, uint64, error) {
		ch, at, err := killOnce(ctx, rng, c.maxDelay, spawn)
		if err != nil {
			return Round{}, 0, err
		}
		r := Round{Kind: "kill", Before: base, Acks: int(ch.acks.Load()), At: at}
		r.LastAck = max(base, ch.lastAck.Load())
		r.Verdict = Check(path, r.LastAck)
		return r, r.LastAck + 1, nil
	})
}

// PowerCutRounds runs n power cuts on m: start the writer child that spawn
// returns (which must write to path, inside m), wait for its first ack and
// a random delay, shut the filesystem down without flushing its log (what a
// power cut leaves), kill the child, remount (the journal is replayed) and
// check the file. In half the rounds the cut comes at once after an ack,
// where a missing directory fsync is sure to show: the moment a program is
// told its data is safe is the moment the promise must hold. A version
// acknowledged before the cut must be there; acks still in the pipe at the
// cut widen the range of versions that may have landed. The mount is
// reused from round to round.
func PowerCutRounds(ctx context.Context, m *Mount, n int, spawn func() *exec.Cmd, path string, report func(Round), opts ...Option) (Tally, error) {
	c, rng := collect(DefaultCutDelay, opts)
	return fileRounds(path, c.size, n, report, func(base uint64) (Round, uint64, error) {
		ch, seen, at, err := cutOnce(ctx, m, rng, c.maxDelay, spawn)
		if err != nil {
			return Round{}, 0, err
		}
		lo, hi := max(base, seen), max(base, ch.lastAck.Load())+1
		r := Round{Kind: "power cut", Before: base, Acks: int(ch.acks.Load()), LastAck: lo, At: at}
		r.Verdict = CheckRange(path, lo, hi)
		return r, hi, nil
	})
}

// fileRounds runs n rounds on the file at path, as logRounds does on a
// log: it starts from a complete, durable version, and crash crashes the
// writer once, from version base, and returns the round, judged, and a
// version above every one that may have been written. Each round is
// counted and reported, and the next starts from what the file holds or,
// when it failed, from a version the harness writes (next).
func fileRounds(path string, size, n int, report func(Round), crash func(base uint64) (Round, uint64, error)) (Tally, error) {
	var tally Tally
	base, err := prepare(path, size)
	if err != nil {
		return tally, err
	}
	for i := 1; i <= n; i++ {
		r, written, err := crash(base)
		if err != nil {
			return tally, err
		}
		r.N = i
		tally.Add(r.Verdict)
		if report != nil {
			report(r)
		}
		if base, err = next(path, r.Verdict, written, size); err != nil {
			return tally, err
		}
	}
	return tally, nil
}

// prepare makes sure path holds a complete, durable version to start from
// and returns it.
func prepare(path string, size int) (uint64, error) {
	if v := Check(path, 0); v.OK && v.Version > 0 {
		// Make it durable, whoever wrote it.
		return v.Version, syncPath(path)
	}
	return 1, seed(path, 1, size)
}

// next returns the version the following round starts from: the one the
// file holds when it passed, or else a fresh version above anything written
// so far, written by the harness itself so that one failure is not counted
// again in the rounds after it.
func next(path string, v Verdict, written uint64, size int) (uint64, error) {
	if v.OK && v.Version > 0 {
		return v.Version, nil
	}
	ver := max(written, v.Version) + 1
	return ver, seed(path, ver, size)
}

// seed durably replaces path with version v, by hand (temp file, fsync,
// rename, directory fsync) rather than with the library under test, which a
// mutation build breaks on purpose.
func seed(path string, v uint64, size int) error {
	return WriteByHand(path, Encode(v, size))
}

// WriteByHand durably replaces path with data the long way (temp file,
// fsync, rename, directory fsync), without the library under test, which
// a mutation build breaks on purpose: harnesses use it to set up a known
// state between crashes.
func WriteByHand(path string, data []byte) error {
	tmp := path + ".seed"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("crashtest: write %s: %w", path, err)
	}
	return vfs.OS{}.SyncDir(filepath.Dir(path))
}

// syncPath makes an existing file and its directory entry durable.
func syncPath(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return vfs.OS{}.SyncDir(filepath.Dir(path))
}
