package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
)

// The chart is drawn by hand: one group of horizontal bars per workload,
// ops/s scaled to the fastest row of the group (the groups differ by
// orders of magnitude), durable rows green, the floor blue, partly durable
// amber. Rows that are not durable keep their true length, so nothing is
// hidden, but are drawn as an empty dashed outline: a fast number that
// promises nothing should not be the boldest thing on the page.
const (
	chartWidth = 980
	labelRight = 330 // labels end here, right-aligned
	barLeft    = 340
	barMax     = 400
	rowHeight  = 22
	groupGap   = 18
	titleSpace = 26
)

func (rep *Report) chart() []byte {
	var body bytes.Buffer
	y := 40
	for _, wr := range rep.Workloads {
		rows := rep.rows(wr)
		best := 0.0
		for _, r := range rows {
			best = max(best, r.OpsPerSec)
		}
		fmt.Fprintf(&body, `<text x="10" y="%d" class="title">%s</text>`+"\n", y+16, esc(wr.Workload.Title))
		y += titleSpace
		for _, r := range rows {
			fill, extra := "#2e7d32", ""
			switch {
			case r.Contender.Floor:
				fill = "#1565c0"
			case r.Verdict.Level == Partly:
				fill = "#f9a825"
			case r.Verdict.Level == NotDurable:
				fill, extra = "none", ` stroke="#757575" stroke-dasharray="4 3"`
			}
			label := r.Contender.Name
			switch r.Verdict.Level {
			case NotDurable:
				label = "⚠ " + label + " (not durable)"
			case Partly:
				label = "◐ " + label
			}
			fmt.Fprintf(&body, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelRight, y+15, esc(label))
			value := "failed"
			if r.Err == nil && r.Ops > 0 && best > 0 {
				w := max(1, int(r.OpsPerSec/best*barMax))
				fmt.Fprintf(&body, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"%s/>`+"\n",
					barLeft, y+3, w, rowHeight-6, fill, extra)
				value = fmt.Sprintf("%.0f ops/s · median %s", r.OpsPerSec, latency(r.Median))
				fmt.Fprintf(&body, `<text x="%d" y="%d" class="value">%s</text>`+"\n", barLeft+w+6, y+15, esc(value))
			} else {
				fmt.Fprintf(&body, `<text x="%d" y="%d" class="value">%s</text>`+"\n", barLeft, y+15, esc(value))
			}
			y += rowHeight
		}
		y += groupGap
	}
	height := y + 30
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height)
	b.WriteString(`<style>.title{font-weight:bold;font-size:14px}.value{fill:#424242}.note{fill:#616161;font-size:11px}</style>` + "\n")
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartWidth, height)
	fmt.Fprintf(&b, `<text x="10" y="20" class="title">%s</text>`+"\n",
		esc(fmt.Sprintf("Operations per second, higher is better (%d CPUs, %s, kernel %s, %s)",
			rep.Machine.CPUs, rep.Machine.FSName(), rep.Machine.Kernel, rep.Machine.Go)))
	b.Write(body.Bytes())
	fmt.Fprintf(&b, `<text x="10" y="%d" class="note">%s</text>`+"\n", height-12,
		esc("Bars are scaled per group. Green: durable. Blue: raw floor. Amber: partly durable. Dashed outline: not durable (never ranked). See RESULTS.md."))
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// esc escapes text for an SVG text node.
func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
