//go:build race

package queue

// raceOn: the race detector slows everything down about tenfold; the
// exhaustive tests thin out their cases to stay within the time budget.
const raceOn = true
