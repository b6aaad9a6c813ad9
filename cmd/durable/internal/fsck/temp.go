package fsck

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/durable-go/durable/internal/checked"
)

// fileID identifies a file: device and inode.
type fileID struct{ dev, ino uint64 }

// openFiles is what a scan of the processes found: the temp files some
// process has open, and how many processes of each user could not be
// inspected.
type openFiles struct {
	ok     bool // the scan ran
	why    string
	open   map[fileID]bool
	hidden map[uint32]int // by the user the process runs as
}

func (c *checker) openFiles() *openFiles {
	c.procOnce.Do(func() { c.proc = c.o.openFiles() })
	return c.proc
}

// lastChange is the later of a file's modification and status change
// times: a hard link or a rename changes the latter.
func lastChange(fi os.FileInfo) time.Time {
	t := fi.ModTime()
	if ct, ok := changeTime(fi); ok && ct.After(t) {
		t = ct
	}
	return t
}

// temp checks a temp file: is its writer gone? See the package
// documentation for the rule.
func (c *checker) temp(e *entry) {
	c.rep.Checked.Temps++
	age := c.age(lastChange(e.info))
	id, owner, hasID := fileIdentity(e.info)
	proc := c.openFiles()
	var why string
	switch {
	case proc.ok && hasID && proc.open[id]:
		c.add(Finding{Path: e.path, Kind: ActiveTemp,
			Detail: "a temp file that a process has open: a write in progress",
			Action: "nothing to do"})
		return
	case proc.ok && hasID && proc.hidden[owner] == 0:
		if age < c.o.Grace {
			c.add(Finding{Path: e.path, Kind: ActiveTemp,
				Detail: fmt.Sprintf("a temp file that no process has open, changed %s ago (less than --grace %s): maybe a write about to publish it", roundAge(age), roundAge(c.o.Grace)),
				Action: "nothing to do; if it stays, fsck will call it orphaned"})
			return
		}
		why = fmt.Sprintf("no process has it open and it last changed %s ago", roundAge(age))
	default:
		unknown := proc.why
		if proc.ok && hasID {
			unknown = fmt.Sprintf("%d process(es) of user %d could not be inspected (run fsck as root to see them)", proc.hidden[owner], owner)
		} else if proc.ok {
			unknown = "its owner is unknown"
		}
		if age < c.o.OlderThan {
			c.add(Finding{Path: e.path, Kind: ActiveTemp,
				Detail: fmt.Sprintf("a temp file changed %s ago (less than --older-than %s), and fsck cannot tell whether its writer is still running: %s", roundAge(age), roundAge(c.o.OlderThan), unknown),
				Action: "nothing to do; if it stays, fsck will call it orphaned"})
			return
		}
		why = fmt.Sprintf("it last changed %s ago (more than --older-than %s); %s", roundAge(age), roundAge(c.o.OlderThan), unknown)
	}
	fd := Finding{Path: e.path, Kind: OrphanedTemp, Problem: true,
		Detail:  "temp file of a write whose process is gone: " + why,
		Fixable: true,
		Action:  "--fix removes it (it never held a published version)"}
	c.fix(fd, func() (string, error) {
		// Look again through a descriptor, relative to the directory the
		// walk went through, and remove the name with unlinkat there only
		// while it is still the file that was checked.
		dir, err := openDir(e.dir)
		if err != nil {
			return "", err
		}
		defer dir.Close()
		changed := errors.New("it changed since fsck looked: a writer is using it; left alone")
		// failed says what a failed step of the checked open and remove
		// means: the file went away, or was swapped, or the step failed.
		failed := func(err error) (string, error) {
			switch {
			case errors.Is(err, os.ErrNotExist):
				return "already gone", nil
			case errors.Is(err, checked.ErrChanged), errors.Is(err, checked.ErrNotRegular):
				return "", changed
			}
			return "", err
		}
		f, fi, err := dir.OpenChecked(e.name, os.O_RDONLY, e.info)
		if err != nil {
			return failed(err)
		}
		f.Close()
		if !lastChange(fi).Equal(lastChange(e.info)) || fi.Size() != e.info.Size() {
			return "", changed
		}
		if err := dir.Remove(e.name, fi); err != nil {
			return failed(err)
		}
		return "removed", nil
	})
}
