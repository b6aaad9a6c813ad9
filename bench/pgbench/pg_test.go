package pgbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
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

// BenchmarkQueue8p8c: 8 producers push b.N messages of 256 bytes while 8
// consumers pop them with a lease (in batches of up to 16) and ack each
// one. msgs/s counts acknowledged messages.
func BenchmarkQueue8p8c(b *testing.B) {
	b.Run("durable-pg", func(b *testing.B) {
		db := openDB(b)
		q, _ := db.Queue("bench", nil)
		ctx := context.Background()
		var acked atomic.Int64
		total := int64(b.N)
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for i := range producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range split(b.N, producers, i) {
					if _, err := q.Push(ctx, payload); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		cctx, cancel := context.WithCancel(ctx)
		for range consumers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for acked.Load() < total {
					msgs, err := q.PopBatch(cctx, 16, time.Minute)
					if err != nil {
						if cctx.Err() == nil {
							b.Error(err)
						}
						return
					}
					for _, m := range msgs {
						if err := q.Ack(ctx, m.Lease); err != nil {
							b.Error(err)
							return
						}
						if acked.Add(1) == total {
							cancel()
						}
					}
				}
			}()
		}
		wg.Wait()
		cancel()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
	b.Run("river", func(b *testing.B) {
		u := serverURL(b)
		s := schema(b, u)
		ctx := context.Background()
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
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for i := range producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range split(b.N, producers, i) {
					if _, err := client.Insert(ctx, benchArgs{Payload: payload}, nil); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		// Done when every job's completion is committed, as an Ack is.
		for {
			var n int64
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+s+".river_job WHERE state = 'completed'").Scan(&n); err != nil {
				b.Fatal(err)
			}
			if n >= int64(b.N) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
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
// (read under the row's lock, apply, validate, write, in one transaction)
// against a raw UPDATE of the same row's bytes.
func BenchmarkDocumentUpdate(b *testing.B) {
	b.Run("store", func(b *testing.B) {
		db := openDB(b)
		s, err := pg.OpenStore[doc](db, "d", &store.Options[doc]{Validate: func(doc) error { return nil }})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ResetTimer()
		for range b.N {
			if _, err := s.Update(ctx, func(d *doc) error { d.N++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-UPDATE", func(b *testing.B) {
		db := openDB(b)
		ctx := context.Background()
		t := db.Schema() + ".documents"
		if _, err := db.Pool().Exec(ctx, "INSERT INTO "+t+" (name, data, revision) VALUES ('d', '{}', 1)"); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			data := []byte(`{"n": ` + strconv.Itoa(i) + `, "name": ""}`)
			if _, err := db.Pool().Exec(ctx, "UPDATE "+t+" SET data = $1 WHERE name = 'd'", data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLock: take and release an exclusive lock, uncontended: pg.Lock
// (a session of its own, watched for loss) against pg_advisory_lock and
// pg_advisory_unlock on one connection.
func BenchmarkLock(b *testing.B) {
	b.Run("pg.Lock", func(b *testing.B) {
		db := openDB(b)
		ctx := context.Background()
		b.ResetTimer()
		for range b.N {
			h, err := db.Lock(ctx, "l")
			if err != nil {
				b.Fatal(err)
			}
			if err := h.Unlock(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-advisory", func(b *testing.B) {
		u := serverURL(b)
		ctx := context.Background()
		c, err := pgx.Connect(ctx, u)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close(ctx)
		b.ResetTimer()
		for range b.N {
			if _, err := c.Exec(ctx, "SELECT pg_advisory_lock(42)"); err != nil {
				b.Fatal(err)
			}
			var ok bool
			if err := c.QueryRow(ctx, "SELECT pg_advisory_unlock(42)").Scan(&ok); err != nil || !ok {
				b.Fatal(errors.Join(err, errors.New("not unlocked")))
			}
		}
	})
}
