package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Verdict is the durability a row is reported with.
type Verdict struct {
	Level    Level
	Why      string // the reason in a few words; empty when durable
	Measured bool   // a trace backs it
	Note     string // where the trace and the source reading disagree
}

// verdictOf combines the source reading with the trace: the less durable
// of the two wins, so a gap either one finds is reported.
func verdictOf(c Contender, ev Evidence) Verdict {
	v := Verdict{Level: c.Claim.Level, Why: c.Claim.Short}
	if !ev.Measured() {
		return v
	}
	v.Measured = true
	got := ev.Trace.Level()
	switch {
	case got > c.Claim.Level:
		v.Level = got
		v.Why = worstProblem(ev.Trace)
		v.Note = fmt.Sprintf("the source reading said %s; the trace shows %s", c.Claim.Level.Mark(), got.Mark())
	case got < c.Claim.Level:
		v.Note = fmt.Sprintf("the trace of %d operations shows no gap; the source reading finds one it does not reach (%s)",
			ev.Trace.Ops, c.Claim.Short)
	}
	return v
}

func worstProblem(r traceReport) string {
	best := problem{Level: Durable}
	for _, p := range r.Problems {
		if p.Level > best.Level {
			best = p
		}
	}
	return best.Text
}

// Cell is the verdict as a table cell.
func (v Verdict) Cell() string {
	if v.Why == "" {
		return v.Level.Mark()
	}
	return v.Level.Mark() + ": " + v.Why
}

// perOp formats sync counts per operation: "1 fsync", "2 fdatasync",
// "1 fsync + 1 fdatasync", "0".
func perOp(counts map[string]int, ops int) string {
	if ops == 0 {
		return "?"
	}
	var parts []string
	for _, call := range []string{"fsync", "fdatasync", "syncfs", "sync"} {
		if n := counts[call]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", trimFloat(float64(n)/float64(ops)), call))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, " + ")
}

// trimFloat formats with at most two decimals and none that are zero.
func trimFloat(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}
