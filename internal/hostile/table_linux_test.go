//go:build linux

package hostile

import (
	"github.com/durable-go/durable/jsonl"
	"github.com/durable-go/durable/lock"
	"github.com/durable-go/durable/queue"
	"github.com/durable-go/durable/store"
)

// family groups a verb with the names it creates or opens.
type family string

const (
	docFam     family = "doc"     // a file or store document
	jsonlFam   family = "jsonl"   // a JSON Lines file
	journalFam family = "journal" // a log's directory
	queueFam   family = "queue"   // a queue's directory
	keyFam     family = "key"     // log keygen's key pair
	allFam     family = "all"     // fsck: everything
)

// targets is the name the caller passes, per family.
var targets = map[family]string{
	docFam: "doc.json", jsonlFam: "log.jsonl", journalFam: "journal", queueFam: "queue", keyFam: "signer",
}

// A plant is a name durable creates or opens. The name is relative to
// the shared directory; "journal/x" is inside the log's directory, which
// the attacker then makes (0777, theirs).
type plant struct {
	fam  family
	name string
	// target: the name the caller passes. A link there is followed only
	// under the protected_symlinks rule: in the attacker's own sticky
	// directory it is followed, by design.
	target bool
}

// plants lists every name durable creates or opens, from the code that
// names them: durable's temp files (".name.<12 base32>.tmp", the token
// random, so these are guesses) and Backup ("name.bak.N", and "name.bak" of earlier releases), lock.Suffix,
// store's backups, damaged and pre-migration copies (store/backup.go),
// its patch log and the patches DiscardLog sets aside (store/logformat.go),
// the queue's state snapshot and the copy kept of a damaged one,
// jsonl.EvidenceInfix, the journal's segments, segment temp, lock,
// checkpoint and evidence directory (journal/segment.go), which a queue
// shares, and log keygen's pair. A new name is one line here.
var plants = []plant{
	{docFam, "doc.json", true},
	{docFam, ".doc.json.k3vq7ztm2xja.tmp", false},
	{docFam, ".doc.json.aaaaaaaaaaaa.tmp", false},
	{docFam, "doc.json" + lock.Suffix, false},
	{docFam, "doc.json.bak", false},
	{docFam, "doc.json.bak.1", false},
	{docFam, "doc.json.bak.2", false},
	{docFam, "doc.json.corrupt.2026-01-02T03-04-05.000Z", false},
	{docFam, "doc.json.pre-v1", false},
	{docFam, store.LogName("doc.json"), false},
	{docFam, store.LogName("doc.json") + ".discarded.2026-01-02T03-04-05.000Z", false},
	{jsonlFam, "log.jsonl", true},
	{jsonlFam, "log.jsonl" + lock.Suffix, false},
	{jsonlFam, ".log.jsonl.k3vq7ztm2xja.tmp", false},
	{jsonlFam, "log.jsonl" + jsonl.EvidenceInfix + "1700000000000000000", false},
	{journalFam, "journal", true},
	{journalFam, "journal/00000000000000000000.seg", false},
	{journalFam, "journal/.00000000000000000000.seg.tmp", false},
	{journalFam, "journal/journal" + lock.Suffix, false},
	{journalFam, "journal/checkpoint", false},
	{journalFam, "journal/.checkpoint.k3vq7ztm2xja.tmp", false},
	{journalFam, "journal/evidence", false},
	{queueFam, "queue", true},
	{queueFam, "queue/00000000000000000000.seg", false},
	{queueFam, "queue/.00000000000000000000.seg.tmp", false},
	{queueFam, "queue/journal" + lock.Suffix, false},
	{queueFam, "queue/checkpoint", false},
	{queueFam, "queue/.checkpoint.k3vq7ztm2xja.tmp", false},
	{queueFam, "queue/evidence", false},
	{queueFam, "queue/" + queue.SnapshotName, false},
	{queueFam, "queue/" + queue.SnapshotName + ".corrupt", false},
	{queueFam, "queue/." + queue.SnapshotName + ".k3vq7ztm2xja.tmp", false},
	{keyFam, "signer.key", false},
	{keyFam, "signer.pub", false},
	{keyFam, ".signer.key.k3vq7ztm2xja.tmp", false},
}

// The kinds of thing planted.
const (
	symlinkKind  = "symlink"  // to an existing victim (a file, or a directory for a directory's name)
	danglingKind = "dangling" // a symlink to a victim path that does not exist yet
	hardlinkKind = "hardlink" // to the victim file, on the same filesystem
	fifoKind     = "fifo"
	dirKind      = "dir"
)

var kinds = []string{symlinkKind, danglingKind, hardlinkKind, fifoKind, dirKind}

// A step is one command: the arguments after "durable". {F} is the
// target's path, {D} the shared directory, {ID} the first field the last
// command printed (a popped message's id), {KEY} a signing key of the
// caller's, {TRYLOCK} a command that fails if a victim is locked. "!tear"
// is no command: it tears the caller's JSON Lines file, as a crash would.
type step []string

type verbCase struct {
	name  string
	fam   family
	steps []step
}

var (
	storeSet     = step{"store", "set", "{F}", "a", "1"}
	jsonlAppend  = step{"jsonl", "append", "{F}", `{"a":1}`}
	logAppend    = step{"log", "append", "{F}", "record"}
	logCkpt      = step{"log", "checkpoint", "--key", "{KEY}", "{F}"}
	queuePush    = step{"queue", "push", "{F}", "job"}
	queuePop     = step{"queue", "pop", "--no-wait", "{F}"}
	writeFile    = step{"write", "{F}"}
	writeBackup  = step{"write", "--backup", "{F}"}
	writeMode    = step{"write", "--mode", "0640", "{F}"}
	storeIncr    = step{"store", "incr", "{F}", "n"}
	storeDelete  = step{"store", "delete", "{F}", "a"}
	fsckCheck    = step{"fsck", "{D}"}
	fsckFix      = step{"fsck", "--fix", "--grace", "1ns", "--older-than", "1ns", "{D}"}
	lockTryVicts = step{"lock", "--timeout", "2s", "{F}", "--", "{TRYLOCK}"}
)

// verbs lists every verb of cmd/durable that touches files, each run the
// way that reaches its sidecars (a second write makes the backup, a set
// on an existing document rotates backups). A new verb is one line here.
var verbs = []verbCase{
	{"write", docFam, []step{writeFile, writeFile}},
	{"write-backup", docFam, []step{writeBackup, writeBackup}},
	{"write-mode", docFam, []step{writeMode, writeMode}},
	{"store-set", docFam, []step{storeSet, storeSet, storeSet}},
	{"store-get", docFam, []step{storeSet, {"store", "get", "{F}"}}},
	{"store-incr", docFam, []step{storeIncr, storeIncr}},
	{"store-delete", docFam, []step{storeSet, storeDelete}},
	{"edit", docFam, []step{storeSet, {"edit", "{F}"}}},
	{"store-compact", docFam, []step{storeSet, {"store", "compact", "{F}"}}},
	{"lock", docFam, []step{lockTryVicts}},
	{"jsonl-append", jsonlFam, []step{jsonlAppend, jsonlAppend}},
	{"jsonl-repair", jsonlFam, []step{jsonlAppend, {"!tear"}, {"jsonl", "repair", "{F}"}}},
	{"log-keygen", keyFam, []step{{"log", "keygen", "{F}"}}},
	{"log-append", journalFam, []step{logAppend, logAppend}},
	{"log-cat", journalFam, []step{logAppend, {"log", "cat", "{F}"}}},
	{"log-tail", journalFam, []step{logAppend, {"log", "tail", "{F}"}}},
	{"log-verify", journalFam, []step{logAppend, {"log", "verify", "{F}"}}},
	{"log-checkpoint", journalFam, []step{logAppend, logCkpt}},
	{"log-proof", journalFam, []step{logAppend, logCkpt, {"log", "proof", "{F}", "0"}}},
	{"queue-push", queueFam, []step{queuePush, queuePush}},
	{"queue-pop", queueFam, []step{queuePush, queuePop}},
	{"queue-ack", queueFam, []step{queuePush, queuePop, {"queue", "ack", "{F}", "{ID}"}}},
	{"queue-nack", queueFam, []step{queuePush, queuePop, {"queue", "nack", "{F}", "{ID}"}}},
	{"queue-ls", queueFam, []step{queuePush, {"queue", "ls", "{F}"}}},
	{"queue-dead", queueFam, []step{queuePush, {"queue", "dead", "{F}"}}},
	{"fsck", allFam, []step{fsckCheck}},
	{"fsck-fix", allFam, []step{fsckFix}},
}

// A place is where the shared directory is: root's sticky 1777 directory,
// like /tmp, or a sticky 1777 directory the attacker owns.
type place struct {
	name  string
	owner int
}

var places = []place{{"sticky", 0}, {"attacker-owned", attackerID}}

// A caller runs the verbs.
type caller struct {
	name string
	uid  int
}

var callers = []caller{{"root", 0}, {"user", userID}}
