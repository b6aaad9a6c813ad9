//go:build !linux

package queue

// printPeakRSS is Linux's only (BenchmarkPopBacklog).
func printPeakRSS() {}
