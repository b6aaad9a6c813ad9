package jsonl

// WithBatch returns a copy of o (nil: the defaults) whose batch size, the
// 1 MiB that bounds a write, the unsynced end of the file and the end Open
// reads, is n bytes instead: so that crash tests of the tail check work on
// files of kilobytes, with crash states small enough to enumerate.
func WithBatch(o *Options, n int64) *Options {
	var c Options
	if o != nil {
		c = *o
	}
	c.batch = n
	return &c
}
