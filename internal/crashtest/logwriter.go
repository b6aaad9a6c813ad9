package crashtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"time"
)

// LogWriterConfig describes a log writer child: a process that appends
// records to a log and acknowledges each one its writer said was written.
type LogWriterConfig struct {
	// Kind names the writer; the program that runs the child maps it to a
	// LogSink (see the Log* kinds for the ones this package has).
	Kind string `json:"kind"`
	// Path is the log: a file, or a directory for a log kept in one.
	Path string `json:"path"`
	// Start is the first sequence number to append; the harness picks it
	// above every number written so far.
	Start uint64 `json:"start"`
	// MaxPause is the longest random pause between two appends: real
	// programs log as things happen, not in a tight loop.
	MaxPause time.Duration `json:"max_pause,omitempty"`
	// Seed makes the pauses reproducible (0: random).
	Seed uint64 `json:"seed,omitempty"`
	// Count stops the writer after that many records (0: until killed).
	Count int `json:"count,omitempty"`
}

// The naive writers this package implements (OpenNaiveSink).
const (
	// LogBufio appends newline-terminated records through a bufio.Writer
	// on an O_APPEND file and acknowledges a record once Write returned:
	// what loggers with a buffer do. The buffer goes to the file when it
	// fills, and nothing is ever fsynced.
	LogBufio = "bufio"
	// LogAppend writes each line with one Write on an O_APPEND file and
	// never fsyncs: what most JSON Lines and audit writers do.
	LogAppend = "append"
)

// LogWriterEnv is the environment variable that hands a LogWriterConfig
// (as JSON) to a child process, as WriterEnv does for file writers.
const LogWriterEnv = "DURABLE_CRASHTEST_LOG_WRITER"

// LogCommand returns a command that runs name with args and cfg in its
// environment. The child is expected to call LogWriterFromEnv and
// RunLogWriter with its standard output.
func LogCommand(cfg LogWriterConfig, name string, args ...string) *exec.Cmd {
	return childCommand(LogWriterEnv, cfg, name, args...)
}

// LogWriterFromEnv returns the LogWriterConfig that LogCommand put in the
// environment; ok is false when this process is not a log writer child.
func LogWriterFromEnv() (cfg LogWriterConfig, ok bool, err error) {
	ok, err = fromEnv(LogWriterEnv, &cfg)
	return cfg, ok, err
}

// A LogSink is the writer under test. Append returns when the writer tells
// its caller the record is written: the child acknowledges it then.
type LogSink interface {
	Append(ctx context.Context, r LogRecord) error
	Close() error
}

// ValueSink is the LogSink of a writer that appends each record as a
// value it encodes itself (a jsonl.File): the record's JSON is its line.
type ValueSink struct {
	W interface {
		Append(ctx context.Context, v any) error
		Close() error
	}
}

// Append appends r as a value.
func (s ValueSink) Append(ctx context.Context, r LogRecord) error { return s.W.Append(ctx, r) }

// Close closes the writer.
func (s ValueSink) Close() error { return s.W.Close() }

// OpenNaiveSink opens one of the naive writers (LogBufio, LogAppend) on
// path; ok is false for another kind.
func OpenNaiveSink(kind, path string) (sink LogSink, ok bool, err error) {
	switch kind {
	case LogBufio, LogAppend:
	default:
		return nil, false, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, true, err
	}
	if kind == LogBufio {
		return &bufioSink{f: f, w: bufio.NewWriter(f)}, true, nil
	}
	return &appendSink{f: f}, true, nil
}

type bufioSink struct {
	f *os.File
	w *bufio.Writer
}

func (s *bufioSink) Append(_ context.Context, r LogRecord) error {
	line := append(r.Encode(), '\n')
	_, err := s.w.Write(line)
	return err
}

func (s *bufioSink) Close() error {
	err := s.w.Flush()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

type appendSink struct{ f *os.File }

func (s *appendSink) Append(_ context.Context, r LogRecord) error {
	_, err := s.f.Write(append(r.Encode(), '\n'))
	return err
}

func (s *appendSink) Close() error { return s.f.Close() }

// RunLogWriter appends records cfg.Start, cfg.Start+1, ... to sink and
// prints "ack N" to out after the Append of record N returned, until ctx is
// done, cfg.Count records are written or an append fails. It closes sink.
func RunLogWriter(ctx context.Context, out io.Writer, cfg LogWriterConfig, sink LogSink) (err error) {
	defer func() {
		if cerr := sink.Close(); err == nil {
			err = cerr
		}
	}()
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(seed, cfg.Start))
	seq := max(cfg.Start, 1)
	for n := 0; cfg.Count == 0 || n < cfg.Count; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := sink.Append(ctx, NewLogRecord(seq)); err != nil {
			return fmt.Errorf("append record %d: %w", seq, err)
		}
		if _, err := fmt.Fprintf(out, "ack %d\n", seq); err != nil {
			return err
		}
		if f, ok := out.(interface{ Flush() error }); ok {
			if err := f.Flush(); err != nil {
				return err
			}
		}
		seq++
		if cfg.MaxPause > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(rng.Int64N(int64(cfg.MaxPause)))):
			}
		}
	}
	return nil
}
