package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/queue"
	"github.com/durable-go/durable/vfs"
)

// The queue suite: producer processes push messages and consumer processes
// pop, work on and acknowledge them, all on one queue; then all are
// killed, or the power is cut under them. Every push that returned must
// still be in the queue unless its message was acknowledged, a message a
// consumer was working on must come back, and an acknowledged message must
// never be delivered again.
//
// The naive queue is what the popular Go disk queues do: an append-only
// file of messages and a file holding the read offset, both written
// without fsync, and a message counts as consumed once it is handed out.

// Processes per role in a queue round.
const queueProducers, queueConsumers = 2, 2

// The naive queue's files, in the queue directory.
const (
	naiveLog    = "queue.log"
	naiveOffset = "offset"
)

// queueLease outlives any round: leases end by the checker's clock, not
// by waiting.
const queueLease = time.Minute

func queueOptions() *queue.Options {
	return &queue.Options{MaxAttempts: -1, SegmentSize: 1 << 20, PollInterval: 2 * time.Millisecond}
}

func runProducer(ctx context.Context, out io.Writer, c demoChild) error {
	pause := c.pauser()
	push := func(p []byte) error { return naivePush(c.Path, p) }
	if !c.Naive {
		q, err := queue.Open(c.Path, queueOptions())
		if err != nil {
			return err
		}
		defer q.Close()
		push = func(p []byte) error { _, err := q.Push(ctx, p); return err }
	}
	for seq := 1; ctx.Err() == nil; seq++ {
		p := fmt.Sprintf("%s-%d", c.Name, seq)
		if err := push([]byte(p)); err != nil {
			return err
		}
		fmt.Fprintf(out, "pushed %s\n", p)
		pause(ctx)
	}
	return nil
}

func runConsumer(ctx context.Context, out io.Writer, c demoChild) error {
	pause := c.pauser()
	if c.Naive {
		for ctx.Err() == nil {
			p, err := naivePop(ctx, c.Path)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "got %s\n", p)
			pause(ctx) // the work; nothing to acknowledge: it was consumed when handed out
			fmt.Fprintf(out, "acking %s\n", p)
			fmt.Fprintf(out, "done %s\n", p)
		}
		return nil
	}
	q, err := queue.Open(c.Path, queueOptions())
	if err != nil {
		return err
	}
	defer q.Close()
	for ctx.Err() == nil {
		m, err := q.Pop(ctx, queueLease)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "got %s\n", m.Payload)
		pause(ctx) // the work
		// Said before the Ack: a consumer killed during it may or may
		// not have removed the message, one killed before it must not.
		fmt.Fprintf(out, "acking %s\n", m.Payload)
		if err := q.Ack(ctx, m.Receipt()); err != nil {
			return err
		}
		fmt.Fprintf(out, "done %s\n", m.Payload)
	}
	return nil
}

// naivePush appends a line to the queue file with one write and no fsync.
func naivePush(dir string, p []byte) error {
	f, err := os.OpenFile(filepath.Join(dir, naiveLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(p, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// naivePop hands out the message at the read offset and moves the offset
// past it, under a lock so that two consumers do not take the same one.
func naivePop(ctx context.Context, dir string) (string, error) {
	for {
		p, ok, err := naiveTake(ctx, dir)
		if err != nil || ok {
			return p, err
		}
		select {
		case <-time.After(2 * time.Millisecond):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func naiveTake(ctx context.Context, dir string) (string, bool, error) {
	l, err := lock.Lock(ctx, filepath.Join(dir, naiveLog))
	if err != nil {
		return "", false, err
	}
	defer l.Unlock()
	off := naiveReadOffset(dir)
	data, err := os.ReadFile(filepath.Join(dir, naiveLog))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	if off > int64(len(data)) {
		off = 0
	}
	line, _, ok := bytes.Cut(data[off:], []byte("\n"))
	if !ok {
		return "", false, nil
	}
	off += int64(len(line)) + 1
	if err := os.WriteFile(filepath.Join(dir, naiveOffset), []byte(strconv.FormatInt(off, 10)), 0o644); err != nil {
		return "", false, err
	}
	return string(line), true, nil
}

// naiveReadOffset reads the offset as the naive queue does: a file that is
// missing or does not parse means the start.
func naiveReadOffset(dir string) int64 {
	b, err := os.ReadFile(filepath.Join(dir, naiveOffset))
	if err != nil {
		return 0
	}
	off, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || off < 0 {
		return 0
	}
	return off
}

// queueWriter is one queue the suite compares.
type queueWriter struct{ naive bool }

func (w queueWriter) name() string {
	if w.naive {
		return "offset file + log"
	}
	return "queue.Push/Pop/Ack"
}

func (w queueWriter) slug() string {
	if w.naive {
		return "naive"
	}
	return "durable"
}

func queueWriters() []queueWriter { return []queueWriter{{naive: true}, {naive: false}} }

// demoQueueRow is one line of the queue table.
type demoQueueRow struct {
	Writer    string `json:"writer"`
	Kills     int    `json:"kills"`
	PowerCuts int    `json:"power_cuts"`
	queueTally
	MustHold bool `json:"must_hold"`
}

// queueTally counts queue rounds and the messages they mishandled.
type queueTally struct {
	Rounds      int `json:"rounds"`
	OK          int `json:"ok"`
	Lost        int `json:"lost"`        // acknowledged pushes gone, or handed out and never done
	Redelivered int `json:"redelivered"` // acknowledged messages back in the queue, or acknowledged twice
	Corrupt     int `json:"corrupt"`     // rounds whose queue could not be read, or held what nobody pushed
}

func (t queueTally) Violations() int { return t.Rounds - t.OK }

func (t *queueTally) add(v queueVerdict) {
	t.Rounds++
	if v.ok() {
		t.OK++
	}
	t.Lost += len(v.lost)
	t.Redelivered += len(v.redelivered)
	if len(v.corrupt) > 0 {
		t.Corrupt++
	}
}

func (t *queueTally) merge(u queueTally) {
	t.Rounds += u.Rounds
	t.OK += u.OK
	t.Lost += u.Lost
	t.Redelivered += u.Redelivered
	t.Corrupt += u.Corrupt
}

// queueVerdict is what the checker found after one crash.
type queueVerdict struct {
	round                      int
	lost, redelivered, corrupt []string
}

func (v queueVerdict) ok() bool { return len(v.lost)+len(v.redelivered)+len(v.corrupt) == 0 }

func (v queueVerdict) String() string {
	if v.ok() {
		return "ok"
	}
	var parts []string
	for _, x := range []struct {
		what string
		ids  []string
	}{{"lost", v.lost}, {"redelivered", v.redelivered}, {"corrupt", v.corrupt}} {
		if len(x.ids) > 0 {
			ids := x.ids
			if len(ids) > 3 {
				ids = append(ids[:3:3], "...")
			}
			parts = append(parts, fmt.Sprintf("%d %s (%s)", len(x.ids), x.what, strings.Join(ids, ", ")))
		}
	}
	return fmt.Sprintf("round %d: %s", v.round, strings.Join(parts, "; "))
}

// queueSuite returns the queue phases: each queue under kill -9, then
// under power cuts on ext4 and xfs.
func queueSuite(d *demo) []demoPhase {
	ws := queueWriters()
	suite := newCrashSuite(d, "queue", d.cfg.queueRounds, "--queue-rounds", ws, queueWriter.name, func(w queueWriter) bool { return !w.naive })
	return d.crashPhases(suite, func(p *demoPhase, i int, fstype string) {
		w, label := ws[i], p.label
		if fstype == "" {
			p.runQueue = func(d *demo, report func(queueVerdict)) error {
				dir := filepath.Join(d.scratch, "kill-queue-"+w.slug())
				return d.queueRounds(w, "kill", nil, dir, d.cfg.queueRounds, label, report)
			}
			return
		}
		p.runQueue = func(d *demo, report func(queueVerdict)) error {
			return d.onLoop(fstype, "queue-"+w.slug(), func(m *crashtest.Mount) error {
				return d.queueRounds(w, "power cut", m, filepath.Join(m.Dir, "queue"), d.cfg.logPowerCuts, label, report)
			})
		}
	})
}

// queueRounds runs n crashes of queueProducers producers and
// queueConsumers consumers sharing the queue in dir. After each crash the
// checker takes every message left in the queue and judges them against
// what the children said before the crash; the queue is empty again for
// the next round.
func (d *demo) queueRounds(w queueWriter, kind string, m *crashtest.Mount, dir string, n int, label string, report func(queueVerdict)) error {
	rng := rand.New(rand.NewPCG(d.seedFor(label), 2))
	if err := mkdirDurable(dir); err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		// What the children said: pushes that returned, messages handed
		// out, acknowledgements that returned.
		l := newQueueLedger()
		g := &procGroup{onLine: func(_ int, line string) { l.said(line) }}
		r := groupRound{kind: kind, mount: m, delay: time.Duration(rng.Int64N(int64(groupMaxDelay))), beforeCut: l.cut}
		var children []demoChild
		for j := range queueProducers + queueConsumers {
			c := demoChild{Role: roleConsumer, Naive: w.naive, Path: dir, MaxPause: groupMaxPause, Seed: rng.Uint64()}
			if j < queueProducers {
				c.Role, c.Name = roleProducer, fmt.Sprintf("r%d.p%d", i, j+1)
				l.producer(c.Name)
			}
			children = append(children, c)
		}
		err := r.run(d.cli.ctx, g, func() error {
			for _, c := range children {
				if err := g.start(c.command(d.self)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		left, err := drainQueue(w, dir)
		v := l.judge(left, err)
		v.round = i
		report(v)
		if err != nil {
			// Start the next round from an empty queue.
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			if err := mkdirDurable(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// splitPayload splits "r3.p1-17" into its producer and sequence number.
func splitPayload(p string) (name string, seq int, ok bool) {
	i := strings.LastIndexByte(p, '-')
	if i < 0 {
		return "", 0, false
	}
	seq, err := strconv.Atoi(p[i+1:])
	return p[:i], seq, err == nil
}

// drainQueue takes every message left in the queue, the way its users
// would read it, and leaves the queue empty.
func drainQueue(w queueWriter, dir string) ([]string, error) {
	if w.naive {
		data, err := os.ReadFile(filepath.Join(dir, naiveLog))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		off := naiveReadOffset(dir)
		if off > int64(len(data)) {
			off = 0
		}
		var left []string
		rest := data[off:]
		for len(rest) > 0 {
			line, after, ok := bytes.Cut(rest, []byte("\n"))
			if !ok {
				// A torn last line: what a consumer would read once the
				// producer's write completed, which it never will.
				left = append(left, string(line))
				break
			}
			left = append(left, string(line))
			rest = after
		}
		for _, name := range []string{naiveLog, naiveOffset} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return left, err
			}
		}
		return left, nil
	}
	// The children are dead, so their leases are void: a clock an hour
	// ahead sees every one of them ended.
	opts := queueOptions()
	opts.Now = func() time.Time { return time.Now().Add(time.Hour) }
	q, err := queue.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	ctx := context.Background()
	var left []string
	for {
		m, ok, err := q.TryPop(ctx, time.Minute)
		if err != nil {
			return left, err
		}
		if !ok {
			break
		}
		left = append(left, string(m.Payload))
		if err := q.Ack(ctx, m.Receipt()); err != nil {
			return left, err
		}
	}
	if dead, err := q.Dead(); err != nil || len(dead) > 0 {
		return left, fmt.Errorf("dead letters in a queue with unlimited attempts: %d (%v)", len(dead), err)
	}
	return left, nil
}

// runQueuePhase is runPhase for a queue phase.
func (d *demo) runQueuePhase(p demoPhase) error {
	t, ok, err := runTallied(d, p, func(t *queueTally, v queueVerdict) bool {
		t.add(v)
		return !v.ok()
	}, queueVerdict.String, func(t queueTally) string { return queuePhaseLine(p, t) },
		func(report func(queueVerdict)) error { return p.runQueue(d, report) })
	if ok {
		row := d.queueRow(p.writer, p.mustHold)
		row.merge(t)
		countRounds(p.kind, &row.Kills, &row.PowerCuts, t.Rounds)
	}
	return err
}

func (d *demo) queueRow(writer string, mustHold bool) *demoQueueRow {
	return rowFor(&d.queueRows, func(r *demoQueueRow) bool { return r.Writer == writer },
		func() *demoQueueRow { return &demoQueueRow{Writer: writer, MustHold: mustHold} })
}

func queuePhaseLine(p demoPhase, t queueTally) string {
	return fmt.Sprintf("%-44s %4d/%-4d ok %-4d lost %-4d redelivered %-4d corrupt %d",
		p.label, t.Rounds, p.rounds, t.OK, t.Lost, t.Redelivered, t.Corrupt)
}

// writeQueueTable prints the queues' rows: crashes, the rounds that left
// the queue right, the messages lost and redelivered, and the rounds whose
// queue could not be read.
func writeQueueTable(w io.Writer, rows []*demoQueueRow) {
	writeRows(w, []string{"queue", "kills", "power cuts", "ok", "lost", "redelivered", "corrupt"},
		rows, func(r *demoQueueRow) (string, []int) {
			return r.Writer, []int{r.Kills, r.PowerCuts, r.OK, r.Lost, r.Redelivered, r.Corrupt}
		})
}

// mkdirDurable makes dir and makes its entry durable: a power cut must not
// take the queue's directory away from under the children.
func mkdirDurable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return vfs.OS{}.SyncDir(filepath.Dir(dir))
}

// queueLedger is what the children of one queue round said, and judges
// what was left in the queue after the crash against it.
type queueLedger struct {
	pushed, got, acking map[string]bool
	done                map[string]int
	next                map[string]int // per producer: the push that may have been in flight
	// What had been said at the power cut; nil for a kill, where every
	// line predates the crash.
	pushedBefore, doneBefore map[string]bool
}

func newQueueLedger() *queueLedger {
	return &queueLedger{pushed: map[string]bool{}, got: map[string]bool{}, acking: map[string]bool{},
		done: map[string]int{}, next: map[string]int{}}
}

// producer registers a producer before it starts.
func (l *queueLedger) producer(name string) { l.next[name] = 1 }

// said records one line of a child.
func (l *queueLedger) said(line string) {
	verb, p, _ := strings.Cut(line, " ")
	switch verb {
	case "pushed":
		l.pushed[p] = true
		if name, seq, ok := splitPayload(p); ok {
			l.next[name] = max(l.next[name], seq+1)
		}
	case "got":
		l.got[p] = true
	case "acking":
		l.acking[p] = true
	case "done":
		l.done[p]++
	}
}

// cut records the moment of a power cut: pushes and acknowledgements said
// later may have been in flight.
func (l *queueLedger) cut() {
	l.pushedBefore, l.doneBefore = map[string]bool{}, map[string]bool{}
	for p := range l.pushed {
		l.pushedBefore[p] = true
	}
	for p := range l.done {
		l.doneBefore[p] = true
	}
}

// judge checks the messages left in the queue (drainErr: the queue could
// not be read to the end).
func (l *queueLedger) judge(left []string, drainErr error) queueVerdict {
	if l.pushedBefore == nil {
		l.cut()
	}
	var v queueVerdict
	if drainErr != nil {
		v.corrupt = append(v.corrupt, drainErr.Error())
	}
	inQueue := map[string]bool{}
	for _, p := range left {
		name, seq, ok := splitPayload(p)
		_, known := l.next[name]
		switch {
		case inQueue[p]:
			v.redelivered = append(v.redelivered, p+" (twice in the queue)")
		case l.doneBefore[p]:
			v.redelivered = append(v.redelivered, p+" (acknowledged, back in the queue)")
		case !l.pushed[p] && !(ok && known && seq == l.next[name]):
			v.corrupt = append(v.corrupt, p+" (nobody pushed it)")
		}
		inQueue[p] = true
	}
	for p := range l.pushedBefore {
		// A consumer killed during its Ack may or may not have removed
		// the message; one killed before it must not have.
		if l.done[p] == 0 && !l.acking[p] && !inQueue[p] {
			why := " (pushed, never handed out)"
			if l.got[p] {
				why = " (handed out, never acknowledged)"
			}
			v.lost = append(v.lost, p+why)
		}
	}
	for p, k := range l.done {
		if k > 1 {
			v.redelivered = append(v.redelivered, p+" (acknowledged twice)")
		}
	}
	slices.Sort(v.lost)
	slices.Sort(v.redelivered)
	return v
}
