package queue

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
)

// The child processes of the tests and benchmarks that spawn processes:
// the test binary re-executed with QUEUE_CHILD set.
func TestMain(m *testing.M) {
	switch os.Getenv("QUEUE_CHILD") {
	case "producer":
		os.Exit(runProducer(os.Getenv("QUEUE_DIR"), os.Getenv("QUEUE_NAME")))
	case "consumer":
		os.Exit(runConsumer(os.Getenv("QUEUE_DIR")))
	case "pop1":
		os.Exit(runPopOnce(os.Getenv("QUEUE_DIR")))
	case "noop":
		printPeakRSS()
		os.Exit(0)
	case "worker":
		os.Exit(runWorker(os.Getenv("QUEUE_DIR")))
	}
	os.Exit(m.Run())
}

// producerMsgs is how many messages each producer pushes, unless
// QUEUE_N says; QUEUE_PACE_MS bounds the random pause between pushes.
const producerMsgs = 60

// stepper makes a child wait, after each acknowledgement it reports, for
// a line on its stdin (QUEUE_STEP=1): the power-cut test cuts the power
// while the child waits, so that nothing the child does later (a flush of
// its own) can make an acknowledgement durable that was not.
type stepper struct{ in *bufio.Reader }

func newStepper() stepper {
	if os.Getenv("QUEUE_STEP") != "1" {
		return stepper{}
	}
	return stepper{bufio.NewReader(os.Stdin)}
}

// wait reports false when the parent is gone.
func (s stepper) wait() bool {
	if s.in == nil {
		return true
	}
	_, err := s.in.ReadString('\n')
	return err == nil
}

func runProducer(dir, name string) int {
	n, pace := producerMsgs, 8
	if v, err := strconv.Atoi(os.Getenv("QUEUE_N")); err == nil {
		n = v
	}
	if v, err := strconv.Atoi(os.Getenv("QUEUE_PACE_MS")); err == nil {
		pace = v
	}
	// CompactRecords small: kills and power cuts also strike while
	// state snapshots are written, and compactions.
	q, err := Open(dir, &Options{MaxAttempts: -1, CompactRecords: childCompact, OnRecover: childRecovered})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer q.Close()
	step := newStepper()
	for k := range n {
		p := fmt.Sprintf("%s-%03d", name, k)
		fmt.Printf("try %s\n", p)
		if _, err := q.Push(bg, []byte(p)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("pushed %s\n", p)
		if !step.wait() {
			return 0
		}
		time.Sleep(time.Duration(rand.IntN(pace+1)) * time.Millisecond)
	}
	return 0
}

const childLease = 150 * time.Millisecond

// childRecovered reports a snapshot the journal did not confirm, which
// no kill or power cut may leave.
func childRecovered(err error) { fmt.Printf("recovered %q\n", err.Error()) }

// childCompact is the children's CompactRecords: a snapshot every 16
// records or so.
const childCompact = 16

func runConsumer(dir string) int {
	q, err := Open(dir, &Options{MaxAttempts: -1, PollInterval: 5 * time.Millisecond, CompactRecords: childCompact, OnRecover: childRecovered})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer q.Close()
	step := newStepper()
	for {
		m, err := q.Pop(bg, childLease)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		start := m.LeaseUntil.Add(-childLease).UnixNano()
		fmt.Printf("got %s %d\n", m.Payload, start)
		time.Sleep(time.Duration(rand.IntN(4)) * time.Millisecond)
		err = q.Ack(bg, m.Receipt())
		switch {
		case errors.Is(err, ErrNotFound):
			fmt.Printf("dup %s\n", m.Payload)
		case err != nil:
			fmt.Fprintln(os.Stderr, err)
			return 1
		default:
			fmt.Printf("acked %s %d\n", m.Payload, time.Now().UnixNano())
			if !step.wait() {
				return 0
			}
		}
	}
}

type killLog struct {
	mu     sync.Mutex
	pushed map[string]bool
	got    map[string][]int64 // lease starts
	acked  map[string][]int64 // ack return times
	dups   int
	// recovered: snapshots the children did not trust
	recovered []string
	lastAck   time.Time
}

func (k *killLog) read(sc *bufio.Scanner) {
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		k.mu.Lock()
		switch f[0] {
		case "pushed":
			k.pushed[f[1]] = true
		case "got":
			t, _ := strconv.ParseInt(f[2], 10, 64)
			k.got[f[1]] = append(k.got[f[1]], t)
		case "acked":
			t, _ := strconv.ParseInt(f[2], 10, 64)
			k.acked[f[1]] = append(k.acked[f[1]], t)
			k.lastAck = time.Now()
		case "dup":
			k.dups++
		case "recovered":
			k.recovered = append(k.recovered, sc.Text())
		}
		k.mu.Unlock()
	}
}

func startChild(t *testing.T, k *killLog, env ...string) (*exec.Cmd, chan struct{}) {
	cmd := testdir.Command("", env...)
	cmd.Stderr = os.Stderr
	out := testdir.Start(t, cmd)
	done := make(chan struct{})
	go func() {
		k.read(bufio.NewScanner(out))
		cmd.Wait()
		close(done)
	}()
	return cmd, done
}

// Four producer and four consumer processes share a queue; the consumers
// are SIGKILLed at random moments and restarted. In the end every pushed
// message was acknowledged, none twice (a second Ack fails), nothing is
// left, and no message was leased after its acknowledgement returned.
func TestKillConsumers(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	// Production lasts about as long as the kills, so most kills hit a
	// consumer with work to do.
	kills, msgs, pace := 30, 60, 8
	if os.Getenv("CI") == "true" {
		kills, msgs, pace = 200, 300, 20
		if raceOn { // race-built children are slow: fewer messages, same kills
			msgs, pace = 120, 40
		}
	}
	dir := testdir.New(t)
	start := time.Now()
	k := &killLog{pushed: map[string]bool{}, got: map[string][]int64{}, acked: map[string][]int64{}}
	env := []string{"QUEUE_DIR=" + dir}
	var producers []chan struct{}
	for p := range 4 {
		_, done := startChild(t, k, append(env, "QUEUE_CHILD=producer", fmt.Sprintf("QUEUE_NAME=p%d", p),
			fmt.Sprintf("QUEUE_N=%d", msgs), fmt.Sprintf("QUEUE_PACE_MS=%d", pace))...)
		producers = append(producers, done)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	killed := 0
	for range 4 {
		wg.Go(func() {
			for {
				mu.Lock()
				if killed >= kills {
					mu.Unlock()
					return
				}
				killed++
				mu.Unlock()
				cmd, done := startChild(t, k, append(env, "QUEUE_CHILD=consumer")...)
				time.Sleep(time.Duration(20+rand.IntN(80)) * time.Millisecond)
				cmd.Process.Kill()
				<-done
			}
		})
	}
	wg.Wait()
	for _, p := range producers {
		<-p
	}
	// Drain without kills.
	var consumers []*exec.Cmd
	var dones []chan struct{}
	for range 4 {
		cmd, done := startChild(t, k, append(env, "QUEUE_CHILD=consumer")...)
		consumers = append(consumers, cmd)
		dones = append(dones, done)
	}
	q, err := Open(dir, &Options{MaxAttempts: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := q.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st == (Stats{}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue does not drain: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	for i, c := range consumers {
		c.Process.Kill()
		<-dones[i]
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.pushed) != 4*msgs {
		t.Fatalf("%d pushes acknowledged, want %d", len(k.pushed), 4*msgs)
	}
	unacked, redelivered := 0, 0
	for p := range k.pushed {
		if len(k.got[p]) == 0 {
			t.Errorf("%s was never delivered", p)
		}
		if len(k.got[p]) > 1 {
			redelivered++
		}
		switch len(k.acked[p]) {
		case 0:
			unacked++ // the consumer was killed between Ack and its report
		case 1:
			for _, start := range k.got[p] {
				if start > k.acked[p][0] {
					t.Errorf("%s was leased again after its Ack returned", p)
				}
			}
		default:
			t.Errorf("%s acknowledged %d times", p, len(k.acked[p]))
		}
	}
	if len(k.recovered) > 0 {
		t.Errorf("a kill left a snapshot the journal does not confirm: %q", k.recovered)
	}
	if err := sameAsReplayDir(dir); err != nil {
		t.Error(err)
	}
	if unacked > kills {
		t.Errorf("%d messages without an ack report, more than the %d kills", unacked, kills)
	}
	t.Logf("in %v: %d kills, %d messages, %d delivered more than once, %d second acks refused, %d acks unreported (killed after Ack)", time.Since(start).Round(time.Millisecond), killed, len(k.pushed), redelivered, k.dups, unacked)
}
