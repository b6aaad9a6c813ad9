package queue

import "strings"

// Origin is the origin a queue gives its journal (journal.Options.Origin):
// the origin line of a queue's checkpoints starts with Origin and "/".
// A queue's directory is a journal's, with the journal's names (see
// journal.ParseSegmentName and journal.IsTempName).
const Origin = "durable-queue"

// IsOrigin reports whether a checkpoint's origin line is a queue's.
func IsOrigin(origin string) bool { return strings.HasPrefix(origin, Origin+"/") }
