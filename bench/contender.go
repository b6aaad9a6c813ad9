package main

import "time"

// A Contender is one library doing one workload.
type Contender struct {
	ID    string // short and file-name safe: a directory name and the probe's key
	Name  string // as the tables show it
	Floor bool   // the reference of its table (the raw syscall sequence, unless the workload names another): never ranked
	Claim Claim  // what reading the library's source says about durability
	// Open prepares the contender in dir, an empty directory of its own,
	// for up to writers concurrent callers of Op.
	Open func(dir string, writers int) (Instance, error)
}

// An Instance is an opened contender.
type Instance interface {
	// Op performs one operation of the workload and returns once the
	// library says it is done. worker is the calling goroutine, 0 to
	// writers-1.
	Op(worker int) error
	Close() error
}

// A slicer is an Instance whose work runs elsewhere (worker processes):
// measure has it work for a slice of time instead of calling Op.
type slicer interface {
	RunFor(d time.Duration) (ops int64, elapsed time.Duration, err error)
}

// A memoryReporter is an Instance whose operations are processes: it
// reports the highest peak resident memory any of them reached.
type memoryReporter interface {
	MaxRSS() int64
}

// funcs adapts two functions to Instance.
type funcs struct {
	op    func(worker int) error
	close func() error
}

func (f funcs) Op(worker int) error { return f.op(worker) }

func (f funcs) Close() error {
	if f.close == nil {
		return nil
	}
	return f.close()
}

// A Workload is one row group of the results: the contenders that do the
// same job, measured against each other in one interleaved run.
type Workload struct {
	ID      string // file-name safe: "replace-4k"
	Family  string // workloads of one family share a durability probe
	Title   string
	What    string // what one operation is, for the reader
	Writers int    // concurrent goroutines calling Op
	// Producers, when not 0, is how many of the Writers feed the others:
	// workers 0 to Producers-1 call Op to produce (a queue's pushes),
	// are not timed or counted, and go on until every other worker has
	// stopped, so that none of those waits forever for work. The table
	// counts only the others' operations.
	Producers int
	Budget    time.Duration
	// MinRounds is how many rounds are counted at least, whatever the
	// budget: where one operation takes seconds, a median of one or
	// two means nothing.
	MinRounds int
	// Probe marks the workload of its family whose contenders are run
	// under strace; the verdict then applies to every row of the family.
	Probe      bool
	Contenders []Contender
	// FloorLabel names the reference in the ratio column ("÷ floor"
	// unless set), for tables whose reference is not a syscall floor.
	FloorLabel string
	// Peer, when set, is the ID of the contender that a second ratio
	// column compares every row with (SQLite where issue 23 names it).
	Peer string
	// Note is printed under the table: what the numbers mean for a goal.
	Note string
}

// Level is how much of an acknowledged operation survives a power cut.
type Level int

const (
	// Durable: the data is fsynced, and so is every directory entry it
	// needs (a created file, a rename), before the call returns.
	Durable Level = iota
	// Partly: each operation's data is fsynced, but a file the library
	// creates (a database, a log segment) is never fsynced in its
	// directory, so right after a creation a power cut can lose the
	// file and every acknowledged operation in it.
	Partly
	// NotDurable: an acknowledged operation can be lost on every call: no
	// fsync at all, or a rename whose directory is never fsynced (the old
	// version comes back).
	NotDurable
)

// Mark is the level as the tables show it.
func (l Level) Mark() string {
	switch l {
	case Durable:
		return "✅ yes"
	case Partly:
		return "◐ partly"
	}
	return "⚠ not durable"
}

// worse returns the less durable of two levels.
func worse(a, b Level) Level { return max(a, b) }

// Claim is a contender's durability as read from its source code.
type Claim struct {
	Level  Level
	Short  string // the reason in a few words, shown beside the mark
	File   string // how it syncs the data
	Dir    string // how it syncs directory entries
	Source string // where in the source this was read
}
