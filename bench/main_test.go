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

	ib "github.com/durable-go/durable/internal/bench"
)

// TestMain lets the test binary be a probe's child too, as the command is.
func TestMain(m *testing.M) {
	if ib.WorkerMain() {
		os.Exit(0)
	}
	if spec := os.Getenv(childEnv); spec != "" {
		if err := runChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if spec := os.Getenv(probeEnv); spec != "" {
		if err := probeChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSmoke runs every workload and every probe in miniature and checks
// that each contender ran, the report and the chart were written, and the
// durability probes (where strace can run) reach the verdicts that do not
// depend on the machine.
func TestSmoke(t *testing.T) {
	out := t.TempDir()
	var stdout, progress bytes.Buffer
	dir := t.TempDir()
	rep, err := run(config{Dir: dir, Out: out, Mode: "smoke", Plan: smokePlan}, &stdout, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	if t.Failed() || testing.Verbose() {
		t.Log(progress.String())
	}

	if len(rep.Workloads) != len(workloads(smokePlan)) {
		t.Errorf("%d workloads measured, want %d", len(rep.Workloads), len(workloads(smokePlan)))
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
	for _, w := range workloads(smokePlan) {
		if !bytes.Contains(md, []byte("## "+w.Title)) {
			t.Errorf("RESULTS.md has no table for %s", w.ID)
		}
	}
	if len(rep.Footprints) < 2 {
		t.Errorf("%d footprints, want the journal and its peers", len(rep.Footprints))
	}
	for _, f := range rep.Footprints {
		if f.Err != nil || f.Usage.Files == 0 || f.Usage.Apparent == 0 {
			t.Errorf("footprint of %s: %+v", f.Name, f)
		}
	}
	if !bytes.Contains(md, []byte("## Disk used by a log of")) {
		t.Error("RESULTS.md has no footprint table")
	}
	// The report is committed: it must name no directory of this
	// machine.
	for _, p := range []string{out, dir} {
		if bytes.Contains(md, []byte(p)) {
			t.Errorf("RESULTS.md contains the path %s", p)
		}
	}
	summary, err := os.ReadFile(filepath.Join(out, "SUMMARY.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| replace 4 KiB | durable.WriteFile |", "| append, 256 writers | durable journal |",
		"Queue CLI: pop from", "| disk used by 5 records"} {
		if !bytes.Contains(summary, []byte(want)) {
			t.Errorf("SUMMARY.md lacks %q", want)
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
