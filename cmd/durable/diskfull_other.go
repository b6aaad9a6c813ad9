//go:build !windows

package main

// isDiskFull covers full-disk errors other than ENOSPC; elsewhere than
// Windows there are none.
func isDiskFull(error) bool { return false }
