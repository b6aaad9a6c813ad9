package vfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/durable-go/durable/internal/testdir"
)

// daclOf returns the SDDL of name's DACL and whether it is protected.
func daclOf(t *testing.T, name string) (string, bool) {
	t.Helper()
	sd, err := windows.GetNamedSecurityInfo(name, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	control, _, err := sd.Control()
	if err != nil {
		t.Fatal(err)
	}
	return sd.String(), control&windows.SE_DACL_PROTECTED != 0
}

// A file created with a mode that gives group and others nothing gets a
// protected DACL naming only the user; one that gives them something
// keeps the inherited DACL.
func TestCreatePrivateACL(t *testing.T) {
	if testdir.UnderWine() {
		// Seen with Wine 8: a DACL given at creation or set later is not
		// kept; Wine derives one from the Unix mode (SYSTEM, the user,
		// and Everyone reading when others may).
		t.Skip("Wine does not keep file DACLs")
	}
	dir := testdir.New(t)
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	me := u.User.Sid.String()
	for _, tc := range []struct {
		name    string
		perm    os.FileMode
		flag    int
		private bool
	}{
		{"secret", 0o600, os.O_RDWR | os.O_CREATE | os.O_EXCL, true},
		{"readonly-secret", 0o400, os.O_RDWR | os.O_CREATE | os.O_EXCL, true},
		{"opened-always", 0o600, os.O_RDWR | os.O_CREATE, true},
		{"shared", 0o644, os.O_RDWR | os.O_CREATE | os.O_EXCL, false},
	} {
		name := filepath.Join(dir, tc.name)
		f, err := OS{}.OpenFile(name, tc.flag, tc.perm)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		sddl, protected := daclOf(t, name)
		os.Chmod(name, 0o644)
		want := "D:P(A;;FA;;;" + me + ")"
		if tc.private && (!protected || !strings.HasSuffix(sddl, want)) {
			t.Errorf("%s (%v): DACL %s, protected %v; want %s", tc.name, tc.perm, sddl, protected, want)
		}
		if !tc.private && protected {
			t.Errorf("%s (%v): DACL %s is protected; want the inherited one", tc.name, tc.perm, sddl)
		}
	}
}
