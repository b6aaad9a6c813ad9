package pg

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/testdir"
	"github.com/durable-go/durable/queue"
)

// restartImmediate crashes the server (pg_ctl stop -m immediate: no
// checkpoint, as after a power cut the WAL is all there is) and starts it
// again with the options it had.
func restartImmediate(t *testing.T) {
	t.Helper()
	data := os.Getenv("DURABLE_TEST_PG_DATA")
	ctl := os.Getenv("DURABLE_TEST_PG_CTL") // scripts/test sets it
	if ctl == "" {
		var err error
		if ctl, err = exec.LookPath("pg_ctl"); err != nil {
			found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
			if len(found) == 0 {
				t.Skip("pg_ctl not found: set DURABLE_TEST_PG_CTL")
			}
			ctl = found[len(found)-1]
		}
	}
	args := []string{"-D", data, "-m", "immediate", "-w", "-t", "60", "-l", filepath.Join(data, "restart.log"), "restart"}
	cmd := exec.Command(ctl, args...)
	if os.Geteuid() == 0 {
		// The cluster belongs to the postgres user, who alone may run it.
		cmd = exec.Command("setpriv", append([]string{"--reuid=postgres", "--regid=postgres", "--init-groups", ctl}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl restart: %v\n%s", err, out)
	}
}

// The server crashes in the middle of pushes, increments and acks: nothing
// acknowledged is lost, nothing acknowledged comes back, the clients
// reconnect, and a lock holder learns its lock went with the server.
func TestServerCrashLosesNothingAcknowledged(t *testing.T) {
	if os.Getenv("DURABLE_TEST_PG_DATA") == "" {
		t.Skip("DURABLE_TEST_PG_DATA (the test server's data directory, which scripts/test sets) is needed to crash and restart the server")
	}
	db := openTest(t)
	ctx := ctxT(t)
	pushes, _ := db.Queue("pushes", nil)
	acks, _ := db.Queue("acks", &QueueOptions{MaxAttempts: -1})
	var pre [][]byte
	for range 300 {
		pre = append(pre, []byte("m"))
	}
	if _, err := acks.PushBatch(ctx, pre); err != nil {
		t.Fatal(err)
	}
	counter, err := OpenStore[settings](db, "crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	held, err := db.Lock(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	// An idle lock session, which the restart kills.
	if warm, err := db.Lock(ctx, "warm"); err != nil {
		t.Fatal(err)
	} else {
		warm.Unlock()
	}
	var (
		mu                 sync.Mutex
		pushed             []queue.ID
		acked              []queue.ID
		incOK, incTried    atomic.Int64
		restarted          atomic.Bool
		afterPush          atomic.Int64
		afterInc, afterAck atomic.Int64
	)
	// worker runs step in a loop until stopped, counting its successes
	// after the restart in after.
	worker := func(step func() error, after *atomic.Int64) (stop func()) {
		return testdir.Repeat(func() bool {
			if err := step(); err != nil {
				time.Sleep(20 * time.Millisecond) // the server is down: try again
				return true
			}
			if restarted.Load() {
				after.Add(1)
			}
			return true
		})
	}
	stopPush := worker(func() error {
		id, err := pushes.Push(ctx, []byte("p"))
		if err == nil {
			mu.Lock()
			pushed = append(pushed, id)
			mu.Unlock()
		}
		return err
	}, &afterPush)
	stopInc := worker(func() error {
		incTried.Add(1)
		_, err := counter.Update(ctx, func(v *settings) error { v.Runs++; return nil })
		if err == nil {
			incOK.Add(1)
		}
		return err
	}, &afterInc)
	stopAck := worker(func() error {
		m, ok, err := acks.TryPop(ctx, time.Minute)
		if err != nil || !ok {
			return err
		}
		if err := acks.Ack(ctx, m.Lease); err != nil {
			return err
		}
		mu.Lock()
		acked = append(acked, m.ID)
		mu.Unlock()
		return nil
	}, &afterAck)
	time.Sleep(700 * time.Millisecond)
	restartImmediate(t)
	restarted.Store(true)
	select {
	case <-held.Lost():
	case <-time.After(10 * time.Second):
		t.Error("the lock holder was not told that the server restarted")
	}
	deadline := time.Now().Add(20 * time.Second)
	for afterPush.Load() < 5 || afterInc.Load() < 5 || afterAck.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("clients did not come back: %d pushes, %d increments, %d acks after the restart", afterPush.Load(), afterInc.Load(), afterAck.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopPush()
	stopInc()
	stopAck()

	v, _, err := counter.Get()
	if err != nil {
		t.Fatal(err)
	}
	// An Update whose commit's answer died with the server may have
	// happened: between the acknowledged ones and the tried ones.
	if int64(v.Runs) < incOK.Load() || int64(v.Runs) > incTried.Load() {
		t.Fatalf("counter %d: %d increments acknowledged, %d tried", v.Runs, incOK.Load(), incTried.Load())
	}
	var present []int64
	rows, _ := db.Pool().Query(ctx, "SELECT id FROM "+db.table("queue")+" WHERE queue = 'pushes'")
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		present = append(present, id)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	have := map[queue.ID]bool{}
	for _, id := range present {
		have[queue.ID(id)] = true
	}
	for _, id := range pushed {
		if !have[id] {
			t.Fatalf("acknowledged push %v lost in the crash", id)
		}
	}
	for _, id := range acked {
		var n int
		db.Pool().QueryRow(ctx, "SELECT count(*) FROM "+db.table("queue")+" WHERE id = $1", int64(id)).Scan(&n)
		if n != 0 {
			t.Fatalf("acknowledged message %v came back after the crash", id)
		}
	}
	if err := held.Check(ctx); err == nil {
		t.Fatal("Check says a lock that died with the server is held")
	}
	again, err := db.Lock(ctx, "warm")
	if err != nil {
		t.Fatalf("Lock after the restart (its idle session died): %v", err)
	}
	again.Unlock()
	held.Unlock()
	t.Logf("%d pushes, %d/%d increments, %d acks across the crash", len(pushed), incOK.Load(), incTried.Load(), len(acked))
}
