//go:build unix

package lock

import (
	"os"
	"strconv"
	"syscall"
	"testing"
)

// Unix only: the test kills the holder and needs its locks gone at once,
// which Windows does not promise (and Windows handles are not inherited
// unless asked for).

// A child started by a holder must not keep the lock alive when the holder
// dies: that is what an inherited descriptor does, since the lock belongs to
// the open file, which the child would share.
func TestChildOfKilledHolderDoesNotKeepLock(t *testing.T) {
	name := tempName(t)
	h := startHelper(t, "spawn", name)
	h.expect("locked")
	pid, err := strconv.Atoi(h.line())
	if err != nil {
		t.Fatal(err)
	}
	sleeper, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer sleeper.Kill()
	h.kill()

	waitReleased(t, name, "holder killed, its child alive: lock")
	if err := sleeper.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the holder's child is gone (%v); the test proved nothing", err)
	}
}
