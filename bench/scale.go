package main

// Issue 23's rows: cost that should grow with the change, not with the
// history. Each workload here sets durable against the floor or the peer
// the issue names, interleaved in the same run as everything else.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	ib "github.com/durable-go/durable/internal/bench"
)

// childEnv makes this program a one-shot child: "sqlite-pop:DB" pops one
// message from an SQLite queue, the peer of the CLI pop. (The floor of
// the CLI append, a process that appends a line and flushes it, is
// internal/bench's, through ib.OneShotEnv.)
const childEnv = "DURABLE_BENCH_CHILD"

func runChild(spec string) error {
	kind, path, _ := strings.Cut(spec, ":")
	switch kind {
	case "sqlite-pop":
		db, err := openSQLite(path)
		if err != nil {
			return err
		}
		_, ok, err := sqlitePop(db)
		if err == nil && !ok {
			err = errors.New("the queue is empty")
		}
		return errors.Join(err, db.Close())
	}
	return fmt.Errorf("unknown child %q", spec)
}

// tools is what the process workloads share in one run: the durable
// binary (built once, on first use) and this program.
type tools struct {
	root string
	once sync.Once
	bin  string
	err  error
}

// durable returns the path of the durable CLI built from this tree.
func (t *tools) durable() (string, error) {
	t.once.Do(func() {
		// Built in durable's own module (bench/go.mod replaces it with
		// ../), whose go.sum covers the CLI's dependencies.
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/durable-go/durable").Output()
		if err != nil {
			t.err = fmt.Errorf("finding durable's module: %w", err)
			return
		}
		t.bin = filepath.Join(t.root, "bin", "durable")
		cmd := exec.Command("go", "build", "-o", t.bin, "./cmd/durable")
		cmd.Dir = strings.TrimSpace(string(out))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.err = fmt.Errorf("go build ./cmd/durable: %v: %s", err, out)
		}
	})
	return t.bin, t.err
}

// processes runs one command per operation, from a spawner (so that the
// peak memory measured is the command's: see internal/bench's Spawner),
// and keeps the highest peak resident memory any of them reached.
type processes struct {
	sp     *ib.Spawner
	args   []string
	env    []string
	maxRSS int64
}

func newProcesses(env []string, args ...string) (*processes, error) {
	exe, err := self()
	if err != nil {
		return nil, err
	}
	sp, err := ib.StartSpawner(exe)
	if err != nil {
		return nil, err
	}
	return &processes{sp: sp, args: args, env: env}, nil
}

func (p *processes) Op(int) error {
	r, err := p.sp.Run(p.args, p.env...)
	p.maxRSS = max(p.maxRSS, r.MaxRSS)
	return err
}

func (p *processes) Close() error  { return p.sp.Close() }
func (p *processes) MaxRSS() int64 { return p.maxRSS }

func self() (string, error) { return os.Executable() }

// queuePopWorkload: the CLI's pop on a queue holding backlog messages,
// one process per pop, against SQLite's pop in a process of its own.
func queuePopWorkload(p plan, budget time.Duration) Workload {
	pending := fmt.Sprintf("%s pending %d-byte messages", thousands(float64(p.Backlog)), messageSize)
	return Workload{
		ID:     "queue-pop-cli",
		Family: "queue-cli",
		Title:  "Queue CLI: pop from " + pending,
		What: "one process that opens the queue, leases the oldest message and exits " +
			"(durable: `durable queue pop --lease 1h DIR`; SQLite: this program's child doing the pop transaction); " +
			"the floor is `durable version`, the cost of starting a process",
		Writers: 1, Budget: budget, Peer: "sqlite", MinRounds: 7,
		Note: "Goal (issue 23): ≤ 0.15 s and ≤ 64 MB peak RSS per pop at 1M pending, whatever the backlog.",
		Contenders: []Contender{
			{
				ID: "cli", Name: "durable queue pop (CLI)", Claim: queueClaim,
				Open: func(dir string, _ int) (Instance, error) {
					bin, err := p.tools.durable()
					if err != nil {
						return nil, err
					}
					q := filepath.Join(dir, "queue")
					if err := ib.FillQueue(q, p.Backlog, messageSize); err != nil {
						return nil, err
					}
					return newProcesses(nil, bin, "queue", "pop", "--lease", "1h", "--no-wait", q)
				},
			},
			{
				ID: "sqlite", Name: "SQLite pop (a process per pop)", Claim: sqliteClaim,
				Open: func(dir string, _ int) (Instance, error) {
					exe, err := self()
					if err != nil {
						return nil, err
					}
					path := filepath.Join(dir, "queue.db")
					if err := fillSQLiteQueue(path, p.Backlog); err != nil {
						return nil, err
					}
					return newProcesses([]string{childEnv + "=sqlite-pop:" + path}, exe)
				},
			},
			{
				ID: "start", Name: "durable version (process start)", Floor: true,
				Claim: Claim{Level: Durable, File: "nothing to flush", Dir: "nothing", Source: "cmd/durable/version.go"},
				Open: func(string, int) (Instance, error) {
					bin, err := p.tools.durable()
					if err != nil {
						return nil, err
					}
					return newProcesses(nil, bin, "version")
				},
			},
		},
	}
}

// fillSQLiteQueue creates the SQLite queue table with n messages, in one
// transaction.
func fillSQLiteQueue(path string, n int) error {
	db, err := openSQLite(path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(sqliteQueueSchema); err != nil {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	ins, err := tx.Prepare("INSERT INTO queue (body) VALUES (?)")
	if err != nil {
		tx.Rollback()
		return err
	}
	msg := payload(messageSize)
	for range n {
		if _, err := ins.Exec(msg); err != nil {
			tx.Rollback()
			return err
		}
	}
	ins.Close()
	return tx.Commit()
}

// jsonlAppendWorkload: the CLI's append to a large JSON Lines file, one
// process per append, against a process that only appends and flushes.
func jsonlAppendWorkload(p plan, budget time.Duration) Workload {
	var once sync.Once
	var path string
	var ferr error
	// One file for both: each appends its line to the same big file.
	file := func(dir string) (string, error) {
		once.Do(func() {
			path = filepath.Join(filepath.Dir(dir), "events.jsonl")
			ferr = ib.FillJSONL(path, p.JSONLSize)
		})
		return path, ferr
	}
	return Workload{
		ID:     "jsonl-append-cli",
		Family: "jsonl-cli",
		Title:  "JSON Lines CLI: append one line to a " + byteSize(p.JSONLSize) + " file",
		What: "one process that appends one ~128-byte line and returns once it is durable " +
			"(durable: `durable jsonl append FILE LINE`; the floor: this program's child opening the file O_APPEND, writing the line, fdatasync)",
		Writers: 1, Budget: budget, MinRounds: 7,
		Note: "Goal (issue 23): ≤ 0.15 s per append on a 1 GB file after the first: only the tail is checked on open.",
		Contenders: []Contender{
			{
				ID: "cli", Name: "durable jsonl append (CLI)",
				Claim: Claim{Level: Durable, File: "fdatasync of the file before the append returns",
					Dir: "fsync of the directory when the file is created", Source: "jsonl/jsonl.go in this tree"},
				Open: func(dir string, _ int) (Instance, error) {
					bin, err := p.tools.durable()
					if err != nil {
						return nil, err
					}
					f, err := file(dir)
					if err != nil {
						return nil, err
					}
					return newProcesses(nil, bin, "jsonl", "append", f, string(ib.JSONLine))
				},
			},
			{
				ID: "raw", Name: "O_APPEND write+fdatasync (a process per append)", Floor: true,
				Claim: Claim{Level: Durable, File: "fdatasync after the write", Dir: "the file exists already", Source: "internal/bench/worker.go (oneShot)"},
				Open: func(dir string, _ int) (Instance, error) {
					exe, err := self()
					if err != nil {
						return nil, err
					}
					f, err := file(dir)
					if err != nil {
						return nil, err
					}
					return newProcesses([]string{ib.OneShotEnv + "=append-line:" + f}, exe)
				},
			},
		},
	}
}

// workers is an Instance made of worker processes (internal/bench).
type workers struct{ ws *ib.Workers }

func (w workers) Op(int) error { return errors.New("worker processes run by slices") }
func (w workers) RunFor(d time.Duration) (int64, time.Duration, error) {
	return w.ws.Run(d)
}
func (w workers) Close() error { return w.ws.Close() }

// processContender runs procs worker processes of goroutines goroutines
// each, all on the same journal, queue or store. seed prepares the shared
// path in dir first (nil: nothing to prepare).
func processContender(kind, name string, procs, goroutines, size int, log, floor bool, claim Claim, seed func(path string) error) Contender {
	return Contender{
		ID:    fmt.Sprintf("%dp%dg", procs, goroutines),
		Name:  name,
		Floor: floor,
		Claim: claim,
		Open: func(dir string, _ int) (Instance, error) {
			exe, err := self()
			if err != nil {
				return nil, err
			}
			path := filepath.Join(dir, kind)
			if seed != nil {
				if err := seed(path); err != nil {
					return nil, err
				}
			}
			ws, err := ib.StartWorkers(exe, procs, ib.WorkerSpec{Kind: kind, Path: path, Goroutines: goroutines, Size: size, Log: log})
			if err != nil {
				return nil, err
			}
			return workers{ws}, nil
		},
	}
}

// multiProcessWorkload: 4 processes × 4 goroutines against 1 process × 16
// goroutines on one journal or queue.
func multiProcessWorkload(kind string, budget time.Duration) Workload {
	claim, what, size := journalClaim, fmt.Sprintf("one Append of a %d-byte record", recordSize), recordSize
	if kind == "queue" {
		claim, what, size = queueClaim, fmt.Sprintf("push, pop and ack of a %d-byte message", messageSize), messageSize
	}
	return Workload{
		ID:     kind + "-4p4g",
		Family: kind + "-procs",
		Title:  fmt.Sprintf("%s: 4 processes × 4 goroutines against 1 process × 16 goroutines", titleCase(kind)),
		What: what + ", by 16 goroutines in all, on one " + kind + " shared by every process; " +
			"ops/s is operations of all processes over wall time",
		Writers: 16, Budget: budget, FloorLabel: "1 process",
		Note: "Goal (issue 23): 4 processes × 4 goroutines ≥ 50% of 1 process × 16 goroutines.",
		Contenders: []Contender{
			processContender(kind, "1 process × 16 goroutines", 1, 16, size, false, true, claim, nil),
			processContender(kind, "4 processes × 4 goroutines", 4, 4, size, false, false, claim, nil),
		},
	}
}

// storeProcessWorkload: 4 processes against 1 updating one field of one
// ~100 KB store document, in the default mode or log
// mode.
func storeProcessWorkload(log bool, budget time.Duration) Workload {
	keys := ib.StoreKeysFor(100_000)
	seed := func(path string) error { _, err := ib.SeedStore(path, keys); return err }
	mode, id := "default mode", "store-4p"
	if log {
		mode, id = "log mode (Options.Log)", "store-4p-log"
	}
	claim := Claim{Level: Durable, File: "durable replace (or, in log mode, a flushed patch) under the lock",
		Dir: "fsync of the directory after a rename", Source: "store/ in this tree"}
	return Workload{
		ID:     id,
		Family: "store-procs",
		Title:  "Store, " + mode + ": 4 processes against 1, one field of a ~100 KB document",
		What: "one Update that changes one field of one of 1,000 entries, each process one goroutine, " +
			"every process on the same file; ops/s is updates of all processes over wall time",
		Writers: 4, Budget: budget, FloorLabel: "1 process",
		Note: "Goal (issue 23): in log mode, 4 processes ≥ 2× one process.",
		Contenders: []Contender{
			processContender("store", "1 process", 1, 1, keys, log, true, claim, seed),
			processContender("store", "4 processes", 4, 1, keys, log, false, claim, seed),
		},
	}
}

// groupAppendContender is the group-commit floor for the append workloads;
// with zero, the floor that also writes zeros ahead of its end as the
// journal does for large batches (GroupAppender.ZeroAhead), so that the
// journal's ratio to it measures what the journal adds, not the I/O
// pattern it chose.
func groupAppendContender(floor, zero bool) Contender {
	id, name := "group", "raw group commit (pwrite+fdatasync shared)"
	if zero {
		id, name = "groupzero", "raw group commit, zeros written ahead as the journal does"
	}
	return Contender{
		ID: id, Name: name, Floor: floor,
		Claim: Claim{Level: Durable, File: "fdatasync of a preallocated file before every append it covers returns",
			Dir: "fsync of the directory once, after creating the file", Source: "internal/bench/raw.go (GroupAppender)"},
		Open: func(dir string, _ int) (Instance, error) {
			g, err := ib.NewGroupAppender(dir, rawAppendSize)
			if err != nil {
				return nil, err
			}
			g.ZeroAhead = zero
			rec := payload(recordSize)
			return funcs{op: func(int) error { return g.Append(rec) }, close: g.Close}, nil
		},
	}
}

// append256Workload: the journal at 256 writers against the group-commit
// floor.
func append256Workload(budget time.Duration) Workload {
	cs := []Contender{groupAppendContender(true, true), groupAppendContender(false, false), {
		ID: "raw", Name: "raw pwrite+fdatasync (one per writer)", Claim: rawAppendClaim,
		Open: openRawAppend,
	}}
	if c, ok := journalHook(); ok {
		cs = append([]Contender{c}, cs...)
	}
	return Workload{
		ID:      "append-256w",
		Family:  "append",
		Title:   fmt.Sprintf("Durable append of %d-byte records, 256 concurrent writers", recordSize),
		What:    fmt.Sprintf("one call that appends one %d-byte record and returns once it is durable", recordSize),
		Writers: 256, Budget: budget,
		Note: "Goal (issue 23): the journal ≥ 0.95× the group-commit floor at 256 writers. " +
			"The floor writes zeros ahead of its end as the journal does (both only for flushes of 4 KiB or more); " +
			"the same group commit without them is shown beside it.",
		Contenders: cs,
	}
}

func titleCase(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// byteSize formats a size the way the titles show it: 1 GB, 100 MB, 1 MB.
func byteSize(n int64) string {
	switch {
	case n >= 1e9 && n%1e9 == 0:
		return fmt.Sprintf("%d GB", n/1e9)
	case n >= 1e6 && n%1e6 == 0:
		return fmt.Sprintf("%d MB", n/1e6)
	case n >= 1e3 && n%1e3 == 0:
		return fmt.Sprintf("%d KB", n/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// storeLogMode is whether this build measures the store's log mode (it
// always does now that the store has it).
const storeLogMode = ib.StoreLogMode
