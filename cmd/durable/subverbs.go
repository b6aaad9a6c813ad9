package main

import (
	"fmt"
	"sort"
	"strings"
)

// A subverb is one subcommand of a verb with several (durable log append,
// durable queue pop): its arguments, help text, example and body.
type subverb struct {
	args, about, example string
	run                  func(c *cli, args []string) int
}

// dispatch runs the subcommand args[0] of the running verb, one of subs.
// "help" and flags before a subcommand print the verb's help; a mistyped
// subcommand gets a suggestion.
func (c *cli) dispatch(args []string, subs map[string]subverb) int {
	names := make([]string, 0, len(subs))
	for name := range subs {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(args) == 0 {
		return c.usageError("want a subcommand: " + strings.Join(names, ", "))
	}
	name := args[0]
	if strings.HasPrefix(name, "-") || name == "help" {
		fs := c.flags()
		if name == "help" {
			args = []string{"--help"}
		}
		if _, code, ok := c.parse(fs, args); !ok {
			return code
		}
		return c.usageError("want a subcommand before the flags")
	}
	sub, ok := subs[name]
	if !ok {
		msg := fmt.Sprintf("unknown subcommand %q", name)
		if s := suggest(name, names); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		} else {
			msg += "; want one of " + strings.Join(names, ", ")
		}
		return c.usageError(msg)
	}
	c.verb = verb{name: c.verb.name + " " + name, args: sub.args, about: sub.about, example: sub.example}
	return sub.run(c, args[1:])
}

// suggest returns the name in names closest to s, if it is close enough to
// be what was meant: a typo, a swap or a missing letter.
func suggest(s string, names []string) string {
	best, bestDist := "", 0
	for _, n := range names {
		d := editDistance(s, n)
		if best == "" || d < bestDist {
			best, bestDist = n, d
		}
	}
	if best == "" || bestDist > max(1, len(best)/3) {
		if best != "" && (strings.HasPrefix(best, s) && len(s) >= 2) {
			return best
		}
		return ""
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (optimal string
// alignment) between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
