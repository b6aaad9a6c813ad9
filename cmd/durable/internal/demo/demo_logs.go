package demo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/durable-go/durable/internal/crashtest"
	"github.com/durable-go/durable/journal"
	"github.com/durable-go/durable/jsonl"
)

// The durable log writers (crashtest.LogWriterConfig.Kind); the naive ones
// are crashtest's.
const (
	logJournal = "journal"
	logJSONL   = "jsonl"
)

// journalOptions keep segments small: a power-cut filesystem is 64 MiB.
var journalOptions = &journal.Options{SegmentSize: 1 << 20}

// logWriter is one writer the log phases compare.
type logWriter struct {
	kind     string
	name     string // the table row
	file     string // the log's name in its directory
	mustHold bool
}

// logWriters are the writers of one log suite: what people do today, then
// the package that must hold.
func logWriters(suite string) []logWriter {
	if suite == "jsonl" {
		return []logWriter{
			{kind: crashtest.LogAppend, name: "O_APPEND write", file: "events.jsonl"},
			{kind: logJSONL, name: "jsonl.Append", file: "events.jsonl", mustHold: true},
		}
	}
	return []logWriter{
		{kind: crashtest.LogBufio, name: "bufio.Writer", file: "audit.log"},
		{kind: logJournal, name: "journal.Append", file: "journal", mustHold: true},
	}
}

// target is how the harness reads the writer's log after a crash: the
// naive logs as a line reader would, the durable ones through their Open,
// which recovers.
func (w logWriter) target(path string) crashtest.LogTarget {
	switch w.kind {
	case logJournal:
		return &journalTarget{dir: path}
	case logJSONL:
		return jsonlTarget(path)
	}
	return crashtest.FileLog(path)
}

// openLogSink opens the writer a log writer child runs.
func openLogSink(cfg crashtest.LogWriterConfig) (crashtest.LogSink, error) {
	switch cfg.Kind {
	case logJournal:
		j, err := journal.Open(cfg.Path, journalOptions)
		if err != nil {
			return nil, err
		}
		return journalSink{j}, nil
	case logJSONL:
		f, err := jsonl.Open(cfg.Path, nil)
		if err != nil {
			return nil, err
		}
		return crashtest.ValueSink{W: f}, nil
	}
	sink, ok, err := crashtest.OpenNaiveSink(cfg.Kind, cfg.Path)
	if !ok {
		return nil, fmt.Errorf("unknown log writer %q", cfg.Kind)
	}
	return sink, err
}

type journalSink struct{ j *journal.Journal }

func (s journalSink) Append(ctx context.Context, r crashtest.LogRecord) error {
	_, err := s.j.Append(ctx, r.Encode())
	return err
}

func (s journalSink) Close() error { return s.j.Close() }

// journalTarget reads a journal the way its users do: journal.Open, which
// cuts a torn tail, then every record through Scan, then journal.Verify,
// which must find nothing wrong.
type journalTarget struct {
	dir   string
	notes int // recovery notes seen so far: one more means a repair
}

func (t *journalTarget) Read(ctx context.Context) (crashtest.LogContents, error) {
	var c crashtest.LogContents
	if _, err := os.Stat(t.dir); errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	j, err := journal.Open(t.dir, journalOptions)
	if err != nil {
		c.Failures = append(c.Failures, "journal.Open: "+err.Error())
		return c, nil
	}
	notes := 0
	for rec, err := range j.Scan(0) {
		if err != nil {
			c.Failures = append(c.Failures, "journal scan: "+err.Error())
			break
		}
		switch rec.Type {
		case journal.TypeData:
			c.Bytes += int64(len(rec.Payload))
			seq, err := crashtest.DecodeRecord(rec.Payload)
			if err != nil {
				c.Damage = append(c.Damage, crashtest.LogDamage{Offset: int64(rec.Index), Len: int64(len(rec.Payload)),
					Reason: fmt.Sprintf("record %d: %v", rec.Index, err)})
				continue
			}
			c.Entries = append(c.Entries, crashtest.LogEntry{Seq: seq, Offset: int64(rec.Index)})
		case journal.TypeNote:
			notes++
		}
	}
	if err := j.Close(); err != nil {
		c.Failures = append(c.Failures, "journal close: "+err.Error())
	}
	c.Repaired = notes > t.notes
	t.notes = notes
	rep, err := journal.Verify(ctx, t.dir, nil)
	switch {
	case err != nil:
		c.Failures = append(c.Failures, "journal.Verify: "+err.Error())
	case rep.Torn != nil:
		c.Failures = append(c.Failures, fmt.Sprintf("journal.Verify: torn tail left after Open at %s:%d", rep.Torn.Path, rep.Torn.Offset))
	}
	return c, nil
}

func (t *journalTarget) Remove() error {
	t.notes = 0
	return os.RemoveAll(t.dir)
}

// jsonlTarget reads a JSON Lines file the way its users do: jsonl.Open,
// which repairs a torn last line, then every line must be an intact record.
type jsonlTarget string

func (p jsonlTarget) Read(ctx context.Context) (crashtest.LogContents, error) {
	if _, err := os.Stat(string(p)); errors.Is(err, fs.ErrNotExist) {
		return crashtest.LogContents{}, nil
	}
	var failures []string
	repaired := false
	f, err := jsonl.Open(string(p), nil)
	if err != nil {
		failures = append(failures, "jsonl.Open: "+err.Error())
	} else {
		repaired = f.Report().CutBytes > 0
		if err := f.Close(); err != nil {
			failures = append(failures, "jsonl close: "+err.Error())
		}
	}
	c, err := crashtest.FileLog(p).Read(ctx)
	c.Failures = append(c.Failures, failures...)
	c.Repaired = repaired
	return c, err
}

func (p jsonlTarget) Remove() error { return crashtest.FileLog(p).Remove() }

// logSuite returns the phases of the log or jsonl suite: each writer under
// kill -9, then under power cuts on ext4 and xfs.
func logSuite(suite string) func(*demo) []demoPhase {
	return func(d *demo) []demoPhase {
		ws := logWriters(suite)
		cs := newCrashSuite(d, suite, d.cfg.logRounds, "--log-rounds", ws,
			func(w logWriter) string { return w.name }, func(w logWriter) bool { return w.mustHold })
		return d.crashPhases(cs, func(p *demoPhase, i int, fstype string) {
			w, label := ws[i], p.label
			if fstype == "" {
				p.runLog = func(d *demo, report func(crashtest.LogRound)) error {
					dir := filepath.Join(d.scratch, "kill-"+suite+"-"+w.kind)
					if err := os.Mkdir(dir, 0o700); err != nil {
						return err
					}
					path := filepath.Join(dir, w.file)
					cfg := crashtest.LogWriterConfig{Kind: w.kind, Path: path,
						MaxPause: crashtest.DefaultLogKillPause, Seed: d.seedFor(label + " pauses")}
					_, err := crashtest.LogKillRounds(d.cli.ctx, d.cfg.logRounds, cfg, d.logSpawn, w.target(path), report,
						crashtest.WithSeed(d.seedFor(label)))
					return err
				}
				return
			}
			p.runLog = func(d *demo, report func(crashtest.LogRound)) error {
				return d.onLoop(fstype, suite+"-"+w.kind, func(m *crashtest.Mount) error {
					path := filepath.Join(m.Dir, w.file)
					cfg := crashtest.LogWriterConfig{Kind: w.kind, Path: path,
						MaxPause: crashtest.DefaultLogCutPause, Seed: d.seedFor(label + " pauses")}
					_, err := crashtest.LogPowerCutRounds(d.cli.ctx, m, d.cfg.logPowerCuts, cfg, d.logSpawn, w.target(path), report,
						crashtest.WithSeed(d.seedFor(label)))
					return err
				})
			}
		})
	}
}

// logSpawn runs this executable as a log writer child.
func (d *demo) logSpawn(cfg crashtest.LogWriterConfig) *exec.Cmd {
	return crashtest.LogCommand(cfg, d.self, CrashWriterName)
}

// powerCutFilesystems returns the filesystems power cuts can run on here,
// noting why not when they cannot (each reason once).
func (d *demo) powerCutFilesystems(n int, zeroNote string) []string {
	if n == 0 {
		d.note(zeroNote)
		return nil
	}
	if ok, why := crashtest.PowerCutSupported(); !ok {
		d.note("power cuts: skipped: " + why)
		return nil
	}
	var fss []string
	for _, fstype := range []string{"ext4", "xfs"} {
		if ok, why := crashtest.FSSupported(fstype); !ok {
			d.note("power cuts on " + fstype + ": skipped: " + why)
			continue
		}
		fss = append(fss, fstype)
	}
	return fss
}

// runLogPhase is runPhase for a log phase.
func (d *demo) runLogPhase(p demoPhase) error {
	t, ok, err := runTallied(d, p, func(t *crashtest.LogTally, r crashtest.LogRound) bool {
		t.Add(r.Verdict)
		return !r.Verdict.OK
	}, crashtest.LogRound.String, func(t crashtest.LogTally) string { return logPhaseLine(p, t) },
		func(report func(crashtest.LogRound)) error { return p.runLog(d, report) })
	if ok {
		row := d.logRow(p.writer, p.mustHold)
		row.LogTally.Merge(t)
		countRounds(p.kind, &row.Kills, &row.PowerCuts, t.Rounds)
	}
	return err
}

func (d *demo) logRow(writer string, mustHold bool) *demoLogRow {
	return rowFor(&d.logRows, func(r *demoLogRow) bool { return r.Writer == writer },
		func() *demoLogRow { return &demoLogRow{Writer: writer, MustHold: mustHold} })
}
