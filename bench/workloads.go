package main

import "time"

// workloads is every row group of a run, in the order of the report. The
// budgets are wall time at full scale; the sizes of issue 23's rows come
// from the plan (1M pending messages, a 1 GB file, documents up to 10 MB
// in the full run; small ones in the smoke test).
func workloads(p plan) []Workload {
	ws := []Workload{
		replaceWorkload(256, 10*time.Second, false),
		replaceWorkload(4<<10, 16*time.Second, true),
		replaceWorkload(64<<10, 10*time.Second, false),
		appendWorkload(1, 16*time.Second, true),
		appendWorkload(16, 24*time.Second, false),
		append256Workload(16 * time.Second),
		multiProcessWorkload("journal", 12*time.Second),
	}
	for _, size := range p.DocSizes {
		budget := 12 * time.Second
		if size >= 10e6 {
			budget = 20 * time.Second
		}
		ws = append(ws, fieldWorkload(size, budget, size == 100e3))
	}
	ws = append(ws,
		documentWorkload(16, 16*time.Second, false),
		storeProcessWorkload(false, 12*time.Second))
	if storeLogMode {
		ws = append(ws, storeProcessWorkload(true, 12*time.Second))
	}
	ws = append(ws,
		queueWorkload(0, 10*time.Second, true),
		queueWorkload(8, 14*time.Second, false),
		multiProcessWorkload("queue", 12*time.Second),
		queuePopWorkload(p, 10*time.Second),
		jsonlAppendWorkload(p, 10*time.Second),
	)
	return ws
}

// footprintRecords is how many records the disk footprint table appends:
// issue 23's "journal with 5 records".
const footprintRecords = 5
