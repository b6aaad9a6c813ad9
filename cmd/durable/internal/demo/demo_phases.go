package demo

import (
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/durable-go/durable/internal/crashtest"
)

// demoWriters are the two writers the file phases compare.
func demoWriters() []crashtest.WriterConfig {
	return []crashtest.WriterConfig{{Durable: false}, {Durable: true}}
}

// slug turns a writer name into a file name.
func slug(s string) string { return strings.ToLower(strings.ReplaceAll(s, ".", "-")) }

// spawn returns a spawn function that runs this executable as the writer.
func (d *demo) spawn(cfg crashtest.WriterConfig) func() *exec.Cmd {
	return func() *exec.Cmd { return crashtest.Command(cfg, d.self, CrashWriterName) }
}

// killPhases kill -9 each writer d.cfg.rounds times.
func killPhases(d *demo) []demoPhase {
	if d.cfg.rounds == 0 {
		d.note("kill -9: skipped (--rounds 0)")
		return nil
	}
	var ps []demoPhase
	for _, w := range demoWriters() {
		w.Size = d.cfg.size
		ps = append(ps, demoPhase{
			kind:     "kill",
			label:    "kill -9    " + w.Name(),
			writer:   w.Name(),
			mustHold: w.Durable,
			rounds:   d.cfg.rounds,
			run: func(d *demo, report func(crashtest.Round)) error {
				w.Path = filepath.Join(d.scratch, "kill-"+slug(w.Name())+".json")
				_, err := crashtest.KillRounds(d.cli.ctx, d.cfg.rounds, d.spawn(w), w.Path, report,
					crashtest.WithSeed(d.seedFor("kill "+w.Name())), crashtest.WithSize(d.cfg.size))
				return err
			},
		})
	}
	return ps
}

// powerCutPhases cut the power under each writer on each filesystem this
// machine can loop-mount, or say in one line why they cannot run.
func powerCutPhases(d *demo) []demoPhase {
	var ps []demoPhase
	for _, fstype := range d.powerCutFilesystems(d.cfg.powerCuts, "power cuts: skipped (--power-cuts 0)") {
		for _, w := range demoWriters() {
			w.Size = d.cfg.size
			w.MaxPause = crashtest.DefaultCutPause
			label := "power cut  " + w.Name() + " on " + fstype
			ps = append(ps, demoPhase{
				kind:     "power cut",
				label:    label,
				writer:   w.Name(),
				mustHold: w.Durable,
				rounds:   d.cfg.powerCuts,
				run: func(d *demo, report func(crashtest.Round)) error {
					return d.onLoop(fstype, slug(w.Name()), func(m *crashtest.Mount) error {
						w.Path = filepath.Join(m.Dir, "state.json")
						_, err := crashtest.PowerCutRounds(d.cli.ctx, m, d.cfg.powerCuts, d.spawn(w), w.Path, report,
							crashtest.WithSeed(d.seedFor(label)), crashtest.WithSize(d.cfg.size))
						return err
					})
				},
			})
		}
	}
	return ps
}

// A crashSuite is a suite of writers crashed by kill -9 and by power cuts.
type crashSuite struct {
	name       string // in the notes: "store", "queue", "log", "jsonl"
	killRounds int
	killFlag   string // the flag that sets killRounds, for the note when it is 0
	cutRounds  int    // set by --log-power-cuts
	writers    []string
	mustHold   func(i int) bool
}

// newCrashSuite describes suite name: its writers ws, in the rows that
// row names, must hold their promise where holds says so; power cuts run
// --log-power-cuts rounds.
func newCrashSuite[W any](d *demo, name string, killRounds int, killFlag string, ws []W, row func(W) string, holds func(W) bool) crashSuite {
	s := crashSuite{name: name, killRounds: killRounds, killFlag: killFlag, cutRounds: d.cfg.logPowerCuts,
		mustHold: func(i int) bool { return holds(ws[i]) }}
	for _, w := range ws {
		s.writers = append(s.writers, row(w))
	}
	return s
}

// crashPhases returns the phases of s: each writer under kill -9, then
// each under power cuts on every filesystem this machine can loop-mount,
// noting why those that cannot run do not. fill sets the run function of
// writer i's phase: fstype is "" for kill -9.
func (d *demo) crashPhases(s crashSuite, fill func(p *demoPhase, i int, fstype string)) []demoPhase {
	var ps []demoPhase
	add := func(i int, kind, label, fstype string, rounds int) {
		p := demoPhase{kind: kind, label: label, writer: s.writers[i], mustHold: s.mustHold(i), rounds: rounds}
		fill(&p, i, fstype)
		ps = append(ps, p)
	}
	if s.killRounds == 0 {
		d.note(s.name + " kill -9: skipped (" + s.killFlag + " 0)")
	} else {
		for i, w := range s.writers {
			add(i, "kill", "kill -9    "+w, "", s.killRounds)
		}
	}
	for _, fstype := range d.powerCutFilesystems(s.cutRounds, s.name+" power cuts: skipped (--log-power-cuts 0)") {
		for i, w := range s.writers {
			add(i, "power cut", "power cut  "+w+" on "+fstype, fstype, s.cutRounds)
		}
	}
	return ps
}
