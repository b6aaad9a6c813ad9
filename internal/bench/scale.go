package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/durable-go/durable/journal"
)

// ScaleOptions sizes "durable bench scale": issue 23's rows, where the
// cost must grow with the change and not with the history.
type ScaleOptions struct {
	Exe       string        // this program: it serves as worker, spawner and one-shot child (WorkerMain)
	Durable   string        // the durable CLI whose queue pop and jsonl append are timed
	Backlog   int           // messages pending for the queue CLI pop
	JSONLSize int64         // bytes of the file the JSON Lines CLI append appends to
	DocSizes  []int         // document sizes for the one-field store update
	Rounds    int           // latency samples per side
	Duration  time.Duration // per side and run for throughput (three alternations)
	Log       bool          // also the store's log mode
	Progress  io.Writer     // where each row's start and time go; nil for nowhere
}

// Scale measures every row against its floor, interleaved, and prints
// Markdown tables to w. Everything is written under dir.
func Scale(w io.Writer, dir string, o ScaleOptions) error {
	steps := []struct {
		name string
		run  func(io.Writer, string, ScaleOptions) error
	}{
		{"queue CLI pop", scaleQueuePop}, {"JSON Lines CLI append", scaleJSONLAppend},
		{"journal footprint", scaleFootprint}, {"store field update", scaleStoreField},
		{"store processes", scaleStoreProcs}, {"journal and queue processes", scaleProcs},
		{"256 writers", scaleWriters256},
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	for i, step := range steps {
		sub := filepath.Join(dir, fmt.Sprint(i))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		t := time.Now()
		fmt.Fprintf(progress, "measuring %s...\n", step.name)
		if err := step.run(w, sub, o); err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
		fmt.Fprintf(progress, "  done in %v\n", time.Since(t).Round(time.Millisecond))
		fmt.Fprintln(w)
	}
	return nil
}

// interleave times each side rounds times, the order rotating every
// round, after two warm-up rounds, and returns each side's latencies.
func interleave(rounds int, sides ...func() (time.Duration, error)) ([][]time.Duration, error) {
	out := make([][]time.Duration, len(sides))
	for r := range rounds + 2 {
		for k := range sides {
			i := (r + k) % len(sides)
			d, err := sides[i]()
			if err != nil {
				return nil, err
			}
			if r >= 2 {
				out[i] = append(out[i], d)
			}
		}
	}
	return out, nil
}

// spawned times a command run by a spawner and keeps its peak memory.
type spawned struct {
	sp   *Spawner
	args []string
	env  []string
	rss  int64
}

func (s *spawned) run() (time.Duration, error) {
	r, err := s.sp.Run(s.args, s.env...)
	s.rss = max(s.rss, r.MaxRSS)
	return r.Elapsed, err
}

func scaleQueuePop(w io.Writer, dir string, o ScaleOptions) error {
	q := filepath.Join(dir, "queue")
	if err := FillQueue(q, o.Backlog, 256); err != nil {
		return err
	}
	sp, err := StartSpawner(o.Exe)
	if err != nil {
		return err
	}
	defer sp.Close()
	pop := &spawned{sp: sp, args: []string{o.Durable, "queue", "pop", "--lease", "1h", "--no-wait", q}}
	start := &spawned{sp: sp, args: []string{o.Durable, "version"}}
	lat, err := interleave(o.Rounds, pop.run, start.run)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "## Queue CLI: pop with %d pending 256 B messages (goal: <= 0.15 s, <= 64 MiB)\n\n", o.Backlog)
	fmt.Fprintf(w, "| process | median | peak RSS | ratio |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(w, "| durable queue pop --lease 1h --no-wait | %v | %s | %.2f |\n", median(lat[0]).Round(time.Millisecond), mibs(pop.rss), ratio(lat[0], lat[1]))
	fmt.Fprintf(w, "| durable version (process start: the floor) | %v | %s | 1.00 |\n", median(lat[1]).Round(time.Millisecond), mibs(start.rss))
	return nil
}

func scaleJSONLAppend(w io.Writer, dir string, o ScaleOptions) error {
	file := filepath.Join(dir, "events.jsonl")
	if err := FillJSONL(file, o.JSONLSize); err != nil {
		return err
	}
	sp, err := StartSpawner(o.Exe)
	if err != nil {
		return err
	}
	defer sp.Close()
	app := &spawned{sp: sp, args: []string{o.Durable, "jsonl", "append", file, string(JSONLine)}}
	raw := &spawned{sp: sp, args: []string{o.Exe}, env: []string{OneShotEnv + "=append-line:" + file}}
	lat, err := interleave(o.Rounds, app.run, raw.run)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "## JSON Lines CLI: append one line to a %s file (goal: <= 0.15 s after the first)\n\n", Size(int(o.JSONLSize)))
	fmt.Fprintf(w, "| process | median | peak RSS | ratio |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(w, "| durable jsonl append | %v | %s | %.2f |\n", median(lat[0]).Round(time.Millisecond), mibs(app.rss), ratio(lat[0], lat[1]))
	fmt.Fprintf(w, "| open O_APPEND, write, fdatasync (the floor) | %v | %s | 1.00 |\n", median(lat[1]).Round(time.Millisecond), mibs(raw.rss))
	return nil
}

func scaleFootprint(w io.Writer, dir string, _ ScaleOptions) error {
	const records = 5
	u, err := JournalFootprint(filepath.Join(dir, "journal"), records)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "## Journal with %d records of 128 B: disk used (goal: <= 1 MiB)\n\n", records)
	fmt.Fprintf(w, "| allocated | size | files | the records themselves |\n|---:|---:|---:|---:|\n")
	fmt.Fprintf(w, "| %s | %s | %d | %d B |\n", Size(int(u.Allocated)), Size(int(u.Apparent)), u.Files, records*128)
	return nil
}

func scaleStoreField(w io.Writer, dir string, o ScaleOptions) error {
	ctx := context.Background()
	fmt.Fprintf(w, "## Store: one field of a map document vs the raw replace of the same bytes (goals: <= 1.15 at 100 KB, <= 1.3 at 1 MB and 10 MB)\n\n")
	fmt.Fprintf(w, "| document | mode | Store.Update median | raw replace median | ratio |\n|---:|---|---:|---:|---:|\n")
	modes := []bool{false}
	if o.Log {
		modes = append(modes, true)
	}
	for _, size := range o.DocSizes {
		keys := StoreKeysFor(size)
		for _, log := range modes {
			sub, err := os.MkdirTemp(dir, "doc-")
			if err != nil {
				return err
			}
			path := filepath.Join(sub, "doc.json")
			data, err := SeedStore(path, keys)
			if err != nil {
				return err
			}
			u, err := OpenFieldUpdater(path, keys, log)
			if err != nil {
				return err
			}
			u.Member = log
			raw := NewRawDoc(sub, "raw.json", append([]byte(nil), data...))
			lat, err := interleave(o.Rounds,
				timed(func() error { return u.Update(ctx) }),
				timed(raw.Update))
			if cerr := u.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			mode := "default"
			if log {
				mode = "log (Options.Log), through UpdateMember"
			}
			fmt.Fprintf(w, "| %s | %s | %v | %v | %.2f |\n", approxSize(len(data)), mode,
				median(lat[0]).Round(time.Microsecond), median(lat[1]).Round(time.Microsecond), ratio(lat[0], lat[1]))
			os.RemoveAll(sub)
		}
	}
	return nil
}

func timed(op func() error) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		t := time.Now()
		err := op()
		return time.Since(t), err
	}
}

// procsRate has a set of workers run for d: one side of alternate.
func procsRate(ws *Workers, d time.Duration) func() (int64, time.Duration, error) {
	return func() (int64, time.Duration, error) { return ws.Run(d) }
}

// compareProcs starts a and b (n processes × g goroutines each) on their
// own copies of kind and returns both rates, alternated.
func compareProcs(dir string, o ScaleOptions, kind string, size int, log bool, seed func(string) error, a, b [2]int) (float64, float64, error) {
	start := func(side [2]int) (*Workers, error) {
		path := filepath.Join(dir, fmt.Sprintf("%s-%dp%dg", kind, side[0], side[1]))
		if seed != nil {
			if err := seed(path); err != nil {
				return nil, err
			}
		}
		return StartWorkers(o.Exe, side[0], WorkerSpec{Kind: kind, Path: path, Goroutines: side[1], Size: size, Log: log})
	}
	wa, err := start(a)
	if err != nil {
		return 0, 0, err
	}
	defer wa.Close()
	wb, err := start(b)
	if err != nil {
		return 0, 0, err
	}
	defer wb.Close()
	return alternate(procsRate(wa, o.Duration), procsRate(wb, o.Duration))
}

func scaleStoreProcs(w io.Writer, dir string, o ScaleOptions) error {
	keys := StoreKeysFor(100_000)
	seed := func(path string) error { _, err := SeedStore(path, keys); return err }
	fmt.Fprintf(w, "## Store: 4 processes vs 1, one field of a ~100 KB document (goal in log mode: >= 2x)\n\n")
	fmt.Fprintf(w, "| mode | 1 process | 4 processes | ratio |\n|---|---:|---:|---:|\n")
	modes := []bool{false}
	if o.Log {
		modes = append(modes, true)
	}
	for _, log := range modes {
		one, four, err := compareProcs(dir, o, "store", keys, log, seed, [2]int{1, 1}, [2]int{4, 1})
		if err != nil {
			return err
		}
		mode := "default"
		if log {
			mode = "log (Options.Log)"
		}
		fmt.Fprintf(w, "| %s | %.0f/s | %.0f/s | %.2fx |\n", mode, one, four, four/one)
	}
	return nil
}

func scaleProcs(w io.Writer, dir string, o ScaleOptions) error {
	fmt.Fprintf(w, "## Journal and queue: 4 processes x 4 goroutines vs 1 process x 16 goroutines (goal: >= 50%%)\n\n")
	fmt.Fprintf(w, "| what | 1 x 16 | 4 x 4 | ratio |\n|---|---:|---:|---:|\n")
	for _, k := range []struct {
		kind, what string
		size       int
	}{{"journal", "journal Append, 128 B", 128}, {"queue", "queue push+pop+ack, 256 B", 256}} {
		one, four, err := compareProcs(dir, o, k.kind, k.size, false, nil, [2]int{1, 16}, [2]int{4, 4})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "| %s | %.0f/s | %.0f/s | %.2f |\n", k.what, one, four, four/one)
	}
	return nil
}

func scaleWriters256(w io.Writer, dir string, o ScaleOptions) error {
	tp, err := journalVsGroup(dir, 256, o.Duration)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "## Journal at 256 writers vs the group-commit floor (goal: >= 0.95)\n\n")
	fmt.Fprintf(w, "| journal Append | raw group commit (shared write+fdatasync) | ratio |\n|---:|---:|---:|\n")
	fmt.Fprintf(w, "| %.0f/s | %.0f/s | %.2f |\n", tp[0], tp[1], tp[0]/tp[1])
	return nil
}

func ratio(a, b []time.Duration) float64 { return float64(median(a)) / float64(median(b)) }

func mibs(n int64) string {
	if n == 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

// journalVsGroup returns the append rates of n goroutines on a journal and
// on the group-commit floor, alternated.
func journalVsGroup(dir string, n int, d time.Duration) ([2]float64, error) {
	j, err := journal.Open(filepath.Join(dir, "journal-256"), nil)
	if err != nil {
		return [2]float64{}, err
	}
	defer j.Close()
	g, err := NewGroupAppender(dir, 64<<20)
	if err != nil {
		return [2]float64{}, err
	}
	defer g.Close()
	rec := payload(128)
	ctx := context.Background()
	a, b, err := alternate(
		func() (int64, time.Duration, error) {
			return hammer(dir, n, d, func(int, int) error { _, err := j.Append(ctx, rec); return err })
		},
		func() (int64, time.Duration, error) {
			return hammer(dir, n, d, func(int, int) error { return g.Append(rec) })
		})
	return [2]float64{a, b}, err
}

// approxSize formats a document's size in decimal units, as issue 23's
// goals name them: 106 KB, 1.07 MB.
func approxSize(n int) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.3g MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.3g KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
