package main

import "time"

// workloads is every row group of a run, in the order of the report. The
// budgets are wall time at full scale; together they keep the default run
// under three minutes on a 2-core VM with a virtual disk.
func workloads() []Workload {
	return []Workload{
		replaceWorkload(256, 10*time.Second, false),
		replaceWorkload(4<<10, 16*time.Second, true),
		replaceWorkload(64<<10, 10*time.Second, false),
		appendWorkload(1, 16*time.Second, true),
		appendWorkload(16, 24*time.Second, false),
		documentWorkload(1, 14*time.Second, true),
		documentWorkload(16, 16*time.Second, false),
		queueWorkload(0, 10*time.Second, true),
		queueWorkload(8, 14*time.Second, false),
	}
}
