package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/store"
)

// The store suite: several processes increment counters in one JSON
// document at once, each its own counter, acknowledging every increment
// that returned. What programs do today (read the file, change it,
// os.WriteFile it back, no lock) loses increments when two processes
// interleave and leaves torn or empty files when killed; store.Update must
// lose nothing that was acknowledged and never leave a bad file.

// counterDoc is the document the counter children share.
type counterDoc struct {
	Counters map[string]uint64 `json:"counters"`
}

// storeProcs is how many processes share the document in a round.
const storeProcs = 4

// Timing of the store and queue rounds: children pause up to maxPause
// between operations, and the crash comes up to maxDelay after every child
// has done something.
const (
	groupMaxPause = 3 * time.Millisecond
	groupMaxDelay = 100 * time.Millisecond
)

func runCounter(ctx context.Context, out io.Writer, c demoChild) error {
	pause := c.pauser()
	if c.Naive {
		for ctx.Err() == nil {
			// Read, change, write back, as most programs keep their
			// settings: no lock, no temp file, no fsync. A file that
			// does not parse is taken for a new one, as they do too.
			var doc counterDoc
			if data, err := os.ReadFile(c.Path); err == nil {
				json.Unmarshal(data, &doc)
			}
			if doc.Counters == nil {
				doc.Counters = map[string]uint64{}
			}
			doc.Counters[c.Name]++
			data, err := json.MarshalIndent(doc, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(c.Path, append(data, '\n'), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(out, "ack %d\n", doc.Counters[c.Name])
			pause(ctx)
		}
		return nil
	}
	s, err := store.Open[counterDoc](c.Path, nil)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		var v uint64
		if _, err := s.Update(ctx, func(d *counterDoc) error {
			if d.Counters == nil {
				d.Counters = map[string]uint64{}
			}
			d.Counters[c.Name]++
			v = d.Counters[c.Name]
			return nil
		}); err != nil {
			return err
		}
		fmt.Fprintf(out, "ack %d\n", v)
		pause(ctx)
	}
	return nil
}

// storeWriter is one writer the store suite compares.
type storeWriter struct {
	naive bool
}

func (w storeWriter) name() string {
	if w.naive {
		return fmt.Sprintf("os.WriteFile, %d processes", storeProcs)
	}
	return fmt.Sprintf("store.Update, %d processes", storeProcs)
}

func (w storeWriter) slug() string {
	if w.naive {
		return "naive"
	}
	return "durable"
}

func storeWriters() []storeWriter { return []storeWriter{{naive: true}, {naive: false}} }

// storeSuite returns the store phases: each writer under kill -9, then
// under power cuts on ext4 and xfs.
func storeSuite(d *demo) []demoPhase {
	ws := storeWriters()
	suite := newCrashSuite(d, "store", d.cfg.storeRounds, "--store-rounds", ws, storeWriter.name, func(w storeWriter) bool { return !w.naive })
	return d.crashPhases(suite, func(p *demoPhase, i int, fstype string) {
		w, label := ws[i], p.label
		if fstype == "" {
			p.run = func(d *demo, report func(crashtest.Round)) error {
				dir := filepath.Join(d.scratch, "kill-store-"+w.slug())
				if err := os.Mkdir(dir, 0o700); err != nil {
					return err
				}
				return d.counterRounds(w, "kill", nil, filepath.Join(dir, "counters.json"), d.cfg.storeRounds, label, report)
			}
			return
		}
		p.run = func(d *demo, report func(crashtest.Round)) error {
			return d.onLoop(fstype, "store-"+w.slug(), func(m *crashtest.Mount) error {
				return d.counterRounds(w, "power cut", m, filepath.Join(m.Dir, "counters.json"), d.cfg.logPowerCuts, label, report)
			})
		}
	})
}

// onLoop runs fn on a fresh loop mount of fstype, cleaned up afterwards; a
// mount that cannot be made skips the phase.
func (d *demo) onLoop(fstype, name string, fn func(m *crashtest.Mount) error) error {
	dir := filepath.Join(d.scratch, fstype+"-"+name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	m, err := crashtest.NewLoop(dir, fstype, 64)
	if err != nil {
		return &skipError{err}
	}
	defer func() {
		if err := m.Close(); err != nil {
			d.note("cleaning up the " + fstype + " loop mount: " + err.Error())
		}
	}()
	return fn(m)
}

// counterRounds runs n crashes of storeProcs counter children sharing
// path, judging the document after each against every increment the
// children acknowledged before the crash.
func (d *demo) counterRounds(w storeWriter, kind string, m *crashtest.Mount, path string, n int, label string, report func(crashtest.Round)) error {
	rng := rand.New(rand.NewPCG(d.seedFor(label), 1))
	names := make([]string, storeProcs)
	for i := range names {
		names[i] = fmt.Sprintf("process-%d", i+1)
	}
	held := map[string]uint64{} // what the document must hold at least
	for i := 1; i <= n; i++ {
		var mu sync.Mutex
		acked := map[string]uint64{} // the highest value each child acknowledged
		var before map[string]uint64 // acked at the moment of the cut
		g := &procGroup{onLine: func(child int, line string) {
			v, err := strconv.ParseUint(strings.TrimPrefix(line, "ack "), 10, 64)
			if err == nil {
				mu.Lock()
				acked[names[child]] = max(acked[names[child]], v)
				mu.Unlock()
			}
		}}
		r := groupRound{kind: kind, mount: m, delay: time.Duration(rng.Int64N(int64(groupMaxDelay))),
			beforeCut: func() { before = maps.Clone(acked) }}
		start := time.Now()
		err := r.run(d.cli.ctx, g, func() error {
			for _, name := range names {
				c := demoChild{Role: roleCounter, Naive: w.naive, Path: path, Name: name,
					MaxPause: groupMaxPause, Seed: rng.Uint64()}
				if err := g.start(c.command(d.self)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if before == nil {
			before = acked
		}
		lo, hi := map[string]uint64{}, map[string]uint64{}
		acks := 0
		for _, name := range names {
			lo[name] = max(held[name], before[name])
			// One increment per child may have been in flight.
			hi[name] = max(held[name], acked[name]) + 1
		}
		for _, p := range g.procs {
			acks += p.lines
		}
		v, got := checkCounters(path, lo, hi)
		report(crashtest.Round{N: i, Kind: kind, Acks: acks, At: time.Since(start), Verdict: v})
		if v.OK {
			held = got
			continue
		}
		// Start the next round from what should have been there, written
		// by hand, so that one failure is not counted again.
		for _, name := range names {
			held[name] = hi[name] - 1
		}
		if err := seedCounters(path, held); err != nil {
			return err
		}
	}
	return nil
}

// checkCounters reads the document after a crash: it must parse, and each
// counter must be at least lo (every acknowledged increment is there) and
// at most hi (nothing was made up).
func checkCounters(path string, lo, hi map[string]uint64) (crashtest.Verdict, map[string]uint64) {
	anyAcked := false
	for _, v := range lo {
		anyAcked = anyAcked || v > 0
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !anyAcked {
			return crashtest.Verdict{OK: true}, map[string]uint64{}
		}
		return crashtest.Verdict{Problem: crashtest.ProblemMissing, Detail: "the document is gone, increments were acknowledged"}, nil
	case err != nil:
		return crashtest.Verdict{Problem: crashtest.ProblemTorn, Detail: "cannot read: " + err.Error()}, nil
	case len(data) == 0:
		return crashtest.Verdict{Problem: crashtest.ProblemEmpty, Detail: "the document is empty"}, nil
	}
	var doc counterDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return crashtest.Verdict{Problem: crashtest.ProblemTorn, Detail: "does not parse: " + err.Error()}, nil
	}
	names := make([]string, 0, len(lo))
	for name := range lo {
		names = append(names, name)
	}
	slices.Sort(names)
	var sum uint64
	for _, name := range names {
		v := doc.Counters[name]
		sum += v
		switch {
		case v < lo[name]:
			return crashtest.Verdict{Version: v, Problem: crashtest.ProblemRolledBack,
				Detail: fmt.Sprintf("%s's counter is %d, %d was acknowledged (a lost update)", name, v, lo[name])}, nil
		case v > hi[name]:
			return crashtest.Verdict{Version: v, Problem: crashtest.ProblemTorn,
				Detail: fmt.Sprintf("%s's counter is %d, but it never went past %d", name, v, hi[name])}, nil
		}
	}
	return crashtest.Verdict{Version: sum, OK: true}, doc.Counters
}

// seedCounters durably writes the document by hand rather than with the
// store, which a mutation build may break on purpose.
func seedCounters(path string, counters map[string]uint64) error {
	data, err := json.MarshalIndent(counterDoc{Counters: counters}, "", "  ")
	if err != nil {
		return err
	}
	return crashtest.WriteByHand(path, append(data, '\n'))
}
