package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
)

// Bounds of one group of stdin lines: what arrived while the last group
// was being made durable, so a slow disk gets bigger groups and a slow
// producer gets each line written as it comes.
const (
	groupMaxLines = 4096
	groupMaxBytes = 4 << 20
)

// A stdinLine is one line of input, without its line ending, and its
// 1-based line number.
type stdinLine struct {
	n    int
	text []byte
}

// readGroups reads r line by line and calls write with each group of
// non-blank lines as they arrive, never waiting for more input while a
// line is ready to be written: "tail -f x | durable jsonl append y" writes
// each line as tail prints it. Memory is bounded by the group limits and a
// small read-ahead. It returns write's first error, the read error, or
// ctx's.
func readGroups(ctx context.Context, r io.Reader, write func([]stdinLine) error) error {
	lines := make(chan stdinLine, 256)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		br := bufio.NewReaderSize(r, 64<<10)
		for n := 1; ; n++ {
			line, err := br.ReadBytes('\n')
			line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
			if len(bytes.TrimSpace(line)) > 0 {
				select {
				case lines <- stdinLine{n, line}:
				case <-done:
					return
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				readErr <- err
				close(lines)
				return
			}
		}
	}()
	for {
		var first stdinLine
		var ok bool
		select {
		case first, ok = <-lines:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			return <-readErr
		}
		group, size := []stdinLine{first}, len(first.text)
	more:
		for len(group) < groupMaxLines && size < groupMaxBytes {
			select {
			case l, ok := <-lines:
				if !ok {
					break more
				}
				group = append(group, l)
				size += len(l.text)
			default:
				break more
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := write(group); err != nil {
			return err
		}
	}
}
