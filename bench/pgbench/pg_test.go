package pgbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/durable-go/durable/pg"
	"github.com/durable-go/durable/store"
)

const producers, consumers = 8, 8

var payload = make([]byte, 256)

func serverURL(b testing.TB) string {
	u := os.Getenv("DURABLE_TEST_PG")
	if u == "" {
		b.Skip("DURABLE_TEST_PG is not set: these benchmarks need a PostgreSQL server (scripts/test shows how to start one)")
	}
	return u
}

// schema returns a fresh schema, dropped at the end.
func schema(b testing.TB, u string) string {
	var r [6]byte
	rand.Read(r[:])
	s := "bench_" + hex.EncodeToString(r[:])
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, err := pgx.Connect(ctx, u); err == nil {
			c.Exec(ctx, "DROP SCHEMA IF EXISTS "+s+" CASCADE")
			c.Close(ctx)
		}
	})
	return s
}

func openDB(b testing.TB) *pg.DB {
	u := serverURL(b)
	db, err := pg.Open(context.Background(), u, &pg.Options{Schema: schema(b, u), MaxConns: producers + consumers + 2})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	return db
}

// split gives each of n workers its share of total.
func split(total, n, i int) int {
	s := total / n
	if i < total%n {
		s++
	}
	return s
}

// The contenders of each benchmark run in alternation, round by round, in
// one process against one server, so that both see the same load (this
// machine's fsync times vary several-fold from one minute to the next);
// each reports its median round and the ratio of the medians.

// rounds runs the contenders in turn, b.N rounds each, and reports each
// one's median (per operation, or per second with perSecond) and the
// ratio of the first to the second.
func rounds(b *testing.B, unit string, perSecond bool, ops int, names []string, run []func() error) {
	times := make([][]float64, len(run))
	b.ResetTimer()
	for range b.N {
		for i, f := range run {
			start := time.Now()
			if err := f(); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start).Seconds()
			if perSecond {
				times[i] = append(times[i], float64(ops)/d)
			} else {
				times[i] = append(times[i], d/float64(ops)*1e6)
			}
		}
	}
	b.StopTimer()
	med := make([]float64, len(run))
	for i := range times {
		med[i] = median(times[i])
		b.ReportMetric(med[i], names[i]+"-"+unit)
	}
	b.ReportMetric(med[0]/med[1], "ratio")
	b.ReportMetric(0, "ns/op")
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// roundMsgs is how many messages one round of the queue benchmark moves.
const roundMsgs = 400

// BenchmarkQueue8p8c: each round, 8 producers push 400 messages of 256
// bytes while 8 consumers pop them with a lease (durable-pg: PopBatch of
// up to 16) and acknowledge each one; river: 8 producers Insert and a
// client with 8 workers works them, the round ending when every job's
// completion is committed. Reported: messages per second, median round.
func BenchmarkQueue8p8c(b *testing.B) {
	db := openDB(b)
	q, _ := db.Queue("bench", nil)
	ctx := context.Background()
	ours := func() error {
		var acked atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, producers+consumers)
		for i := range producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range split(roundMsgs, producers, i) {
					if _, err := q.Push(ctx, payload); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for range consumers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for acked.Load() < roundMsgs {
					msgs, err := q.PopBatch(cctx, 16, time.Minute)
					if err != nil {
						if cctx.Err() == nil {
							errs <- err
						}
						return
					}
					for _, m := range msgs {
						if err := q.Ack(ctx, m.Lease); err != nil {
							errs <- err
							return
						}
						if acked.Add(1) == roundMsgs {
							cancel()
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		return <-errs
	}

	u := serverURL(b)
	s := schema(b, u)
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = producers + consumers + 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+s); err != nil {
		b.Fatal(err)
	}
	mig, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: s})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		b.Fatal(err)
	}
	var worked atomic.Int64
	workers := river.NewWorkers()
	river.AddWorker(workers, &benchWorker{n: &worked})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Schema:            s,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: consumers}},
		Workers:           workers,
		FetchCooldown:     time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer client.Stop(ctx)
	var completed int64
	theirs := func() error {
		var wg sync.WaitGroup
		errs := make(chan error, producers)
		for i := range producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range split(roundMsgs, producers, i) {
					if _, err := client.Insert(ctx, benchArgs{Payload: payload}, nil); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
		completed += roundMsgs
		// Done when every job's completion is committed, as an Ack is.
		for {
			var n int64
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+s+".river_job WHERE state = 'completed'").Scan(&n); err != nil {
				return err
			}
			if n >= completed {
				return nil
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	rounds(b, "msgs/s", true, roundMsgs, []string{"durable-pg", "river"}, []func() error{ours, theirs})
}

type benchArgs struct {
	Payload []byte `json:"p"`
}

func (benchArgs) Kind() string { return "bench" }

type benchWorker struct {
	river.WorkerDefaults[benchArgs]
	n *atomic.Int64
}

func (w *benchWorker) Work(ctx context.Context, job *river.Job[benchArgs]) error {
	w.n.Add(1)
	return nil
}

type doc struct {
	N    int    `json:"n"`
	Name string `json:"name"`
}

// BenchmarkDocumentUpdate: one writer changes a small document: the store
// (read under the document's lock, apply, validate, write, in one
// transaction) against a raw UPDATE of the same row's bytes. 50 updates a
// round; reported in µs per update, median round.
func BenchmarkDocumentUpdate(b *testing.B) {
	db := openDB(b)
	s, err := pg.OpenStore[doc](db, "d", &store.Options[doc]{Validate: func(doc) error { return nil }})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	t := db.Schema() + ".documents"
	if _, err := db.Pool().Exec(ctx, "INSERT INTO "+t+" (name, data, revision) VALUES ('raw', '{}', 1)"); err != nil {
		b.Fatal(err)
	}
	const n = 50
	i := 0
	rounds(b, "µs", false, n, []string{"store", "raw-UPDATE"}, []func() error{
		func() error {
			for range n {
				if _, err := s.Update(ctx, func(d *doc) error { d.N++; return nil }); err != nil {
					return err
				}
			}
			return nil
		},
		func() error {
			for range n {
				i++
				data := []byte(`{"n": ` + strconv.Itoa(i) + `, "name": ""}`)
				if _, err := db.Pool().Exec(ctx, "UPDATE "+t+" SET data = $1 WHERE name = 'raw'", data); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// BenchmarkLock: take and release an exclusive lock, uncontended, 200 a
// round: pg.Lock (a session of its own, watched for loss) against
// pg_advisory_lock and pg_advisory_unlock on one connection.
func BenchmarkLock(b *testing.B) {
	db := openDB(b)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, serverURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	const n = 200
	rounds(b, "µs", false, n, []string{"pg.Lock", "raw-advisory"}, []func() error{
		func() error {
			for range n {
				h, err := db.Lock(ctx, "l")
				if err != nil {
					return err
				}
				if err := h.Unlock(); err != nil {
					return err
				}
			}
			return nil
		},
		func() error {
			for range n {
				if _, err := c.Exec(ctx, "SELECT pg_advisory_lock(42)"); err != nil {
					return err
				}
				var ok bool
				if err := c.QueryRow(ctx, "SELECT pg_advisory_unlock(42)").Scan(&ok); err != nil || !ok {
					return errors.Join(err, errors.New("not unlocked"))
				}
			}
			return nil
		},
	})
}
