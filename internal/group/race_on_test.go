//go:build race

package group

// raceOn: the race detector's sync.Pool drops items at random, so
// allocation counts are not checked under it.
const raceOn = true
