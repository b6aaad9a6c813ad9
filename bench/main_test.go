package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be a probe's child too, as the command is.
func TestMain(m *testing.M) {
	if spec := os.Getenv(probeEnv); spec != "" {
		if err := probeChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// smokePlan runs every row for a few operations: enough to show the
// harness works, far too few for the numbers to mean anything.
var smokePlan = plan{Scale: 0, MaxRounds: 3, Slice: 20 * time.Millisecond, ProbeOps: 2}

// TestSmoke runs every workload and every probe in miniature and checks
// that each contender ran, the report and the chart were written, and the
// durability probes (where strace can run) reach the verdicts that do not
// depend on the machine.
func TestSmoke(t *testing.T) {
	out := t.TempDir()
	var stdout, progress bytes.Buffer
	rep, err := run(config{Dir: t.TempDir(), Out: out, Mode: "smoke", Plan: smokePlan}, &stdout, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	if t.Failed() || testing.Verbose() {
		t.Log(progress.String())
	}

	if len(rep.Workloads) != len(workloads()) {
		t.Errorf("%d workloads measured, want %d", len(rep.Workloads), len(workloads()))
	}
	for _, wr := range rep.Workloads {
		for _, r := range wr.Results {
			if r.Err != nil || r.Ops == 0 || r.Median <= 0 || r.OpsPerSec <= 0 {
				t.Errorf("%s / %s: err %v, %d ops, median %v, %.0f ops/s",
					wr.Workload.ID, r.Contender.Name, r.Err, r.Ops, r.Median, r.OpsPerSec)
			}
		}
	}

	md, err := os.ReadFile(filepath.Join(out, "RESULTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(md, stdout.Bytes()) {
		t.Error("stdout differs from RESULTS.md")
	}
	for _, w := range workloads() {
		if !bytes.Contains(md, []byte("## "+w.Title)) {
			t.Errorf("RESULTS.md has no table for %s", w.ID)
		}
	}
	svg, err := os.ReadFile(filepath.Join(out, "chart.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := wellFormed(svg); err != nil {
		t.Errorf("chart.svg: %v", err)
	}

	var skip string
	for key, ev := range rep.Evidence {
		switch {
		case ev.Skip != "":
			skip = ev.Skip
		case ev.Err != nil:
			t.Errorf("probe %s: %v", key, ev.Err)
		}
	}
	if skip != "" {
		t.Logf("durability probes not run: %s", skip)
		return
	}
	// These hold on any Linux filesystem: they are about which system
	// calls a library makes, not how fast.
	for key, want := range map[string]Level{
		"replace/durable":  Durable,
		"replace/raw":      Durable,
		"replace/os":       NotDurable,
		"replace/renameio": NotDurable,
		"append/raw":       Durable,
		"append/journal":   Durable,
		"append/bbolt":     Partly,
		"document/durable": Durable,
		"document/store":   Durable,
	} {
		ev, ok := rep.Evidence[key]
		if !ok {
			continue // a hook that is not wired in
		}
		if got := ev.Trace.Level(); got != want {
			t.Errorf("probe %s: %s, want %s (%v)", key, got.Mark(), want.Mark(), ev.Trace.Problems)
		}
	}
}

func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	n := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok && strings.EqualFold(se.Name.Local, "rect") {
			n++
		}
	}
	if n < 2 {
		return fmt.Errorf("%d bars", n-1)
	}
	return nil
}
