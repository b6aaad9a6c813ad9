package crashtest

import (
	"context"
	"math/rand/v2"
	"os/exec"
	"time"
)

// The crash of one round, shared by the file drivers (rounds.go) and the
// log drivers (logrounds.go): they differ in what they check afterwards,
// not in how they crash the child.

// killOnce starts the child that spawn returns and SIGKILLs it after a
// random delay of up to maxDelay: in three rounds of four the delay runs
// from its first ack, in the fourth from its start, so that kills also land
// in its first write (and its Open, with its recovery). It returns the
// killed child, its acks final, and when the kill came after its start.
func killOnce(ctx context.Context, rng *rand.Rand, maxDelay time.Duration, spawn func() *exec.Cmd) (*child, time.Duration, error) {
	ch, err := startChild(spawn)
	if err != nil {
		return nil, 0, err
	}
	if rng.IntN(4) != 0 {
		if err := ch.waitFirstAck(ctx, ackTimeout); err != nil {
			ch.kill()
			return nil, 0, err
		}
	}
	alive, err := ch.sleep(ctx, randDelay(rng, maxDelay))
	at := time.Since(ch.start)
	ch.kill()
	if err != nil {
		return nil, 0, err
	}
	if !alive {
		return nil, 0, ch.exitError()
	}
	return ch, at, nil
}

// cutOnce arms m, starts the child that spawn returns, waits for its first
// ack and a random delay of up to maxDelay (in half the rounds, then for
// its next ack, where a missing fsync is sure to show), shuts m down as a
// power cut would, kills the child and mounts m again. lastAck is the last
// ack seen before the cut: only those surely predate it; acks still in the
// pipe at the cut are in the child's counts. It returns when the cut came
// after the child's start.
func cutOnce(ctx context.Context, m *Mount, rng *rand.Rand, maxDelay time.Duration, spawn func() *exec.Cmd) (ch *child, lastAck uint64, at time.Duration, err error) {
	if err := m.arm(); err != nil {
		return nil, 0, 0, err
	}
	if ch, err = startChild(spawn); err != nil {
		return nil, 0, 0, err
	}
	if err := ch.waitFirstAck(ctx, ackTimeout); err != nil {
		ch.kill()
		return nil, 0, 0, err
	}
	alive, err := ch.sleep(ctx, randDelay(rng, maxDelay))
	if err == nil && alive && rng.IntN(2) == 0 {
		alive, err = ch.waitNextAck(ctx, ackTimeout)
	}
	if err != nil || !alive {
		ch.kill()
		if err == nil {
			err = ch.exitError()
		}
		return nil, 0, 0, err
	}
	lastAck = ch.lastAck.Load()
	at = time.Since(ch.start)
	cutErr := m.Shutdown()
	ch.kill()
	if cutErr != nil {
		return nil, 0, 0, cutErr
	}
	if err := m.Remount(); err != nil {
		return nil, 0, 0, err
	}
	return ch, lastAck, at, nil
}

func randDelay(rng *rand.Rand, maxDelay time.Duration) time.Duration {
	if maxDelay <= 0 {
		return 0
	}
	return time.Duration(rng.Int64N(int64(maxDelay)))
}
