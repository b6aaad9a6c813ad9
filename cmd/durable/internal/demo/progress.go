package demo

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// progress shows long work. On a terminal one line is rewritten in place
// (with \r and padding rather than escape codes, which not every Windows
// console understands); otherwise only finished lines are printed, so logs
// stay readable.
type progress struct {
	w     io.Writer
	tty   bool
	width int // of the terminal; a longer line would wrap and not be rewritten
	last  int // width of the line on screen
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, width: 80}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			p.width = cols
		}
	}
	return p
}

// update replaces the current line (on a terminal; elsewhere it is quiet).
func (p *progress) update(line string) {
	if p.tty {
		p.draw(line)
	}
}

// finish prints line as done: it replaces the line in progress, if any,
// and ends it. An empty line just clears what is in progress.
func (p *progress) finish(line string) {
	if p.tty {
		p.draw(line)
		p.last = 0
		if line != "" {
			fmt.Fprintln(p.w)
		} else {
			fmt.Fprint(p.w, "\r")
		}
		return
	}
	if line != "" {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) draw(line string) {
	if r := []rune(line); len(r) >= p.width {
		line = string(r[:p.width-1])
	}
	n := utf8.RuneCountInString(line)
	pad := ""
	if n < p.last {
		pad = strings.Repeat(" ", p.last-n)
	}
	fmt.Fprint(p.w, "\r"+line+pad)
	p.last = n
}
