package durable_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/durable-go/durable"
	"github.com/durable-go/durable/internal/testdir"
	"golang.org/x/sys/unix"
)

func getxattr(t *testing.T, name, attr string) []byte {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := unix.Getxattr(name, attr, buf)
	if err != nil {
		if errors.Is(err, syscall.ENODATA) {
			return nil
		}
		t.Fatalf("getxattr %s %s: %v", name, attr, err)
	}
	return buf[:n]
}

func setxattrOrSkip(t *testing.T, name, attr string, value []byte) {
	t.Helper()
	if err := unix.Setxattr(name, attr, value, 0); err != nil {
		if errors.Is(err, syscall.ENOTSUP) {
			t.Skipf("the test directory's filesystem keeps no %s: %v", attr, err)
		}
		t.Fatalf("setxattr %s: %v", attr, err)
	}
}

// posixACL encodes a POSIX access ACL as Linux stores it in
// system.posix_acl_access: owner rw, user 64123 r, group r, mask r, other
// none.
func posixACL() []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write(le.AppendUint32(nil, 2)) // version
	entry := func(tag, perm uint16, id uint32) {
		b.Write(le.AppendUint16(nil, tag))
		b.Write(le.AppendUint16(nil, perm))
		b.Write(le.AppendUint32(nil, id))
	}
	const undefined = 0xffffffff
	entry(0x01, 6, undefined) // ACL_USER_OBJ rw-
	entry(0x02, 4, 64123)     // ACL_USER 64123 r--
	entry(0x04, 4, undefined) // ACL_GROUP_OBJ r--
	entry(0x10, 4, undefined) // ACL_MASK r--
	entry(0x20, 0, undefined) // ACL_OTHER ---
	return b.Bytes()
}

// A replace keeps the old file's extended attributes and POSIX ACL, by
// every way of writing, and they are on the file from the moment it is
// published.
func TestReplaceKeepsXattrs(t *testing.T) {
	ops := map[string]func(name string) error{
		"WriteFile": func(name string) error { return durable.WriteFile(name, []byte("new"), 0o600) },
		"Update": func(name string) error {
			return durable.Update(name, func([]byte) ([]byte, error) { return []byte("new"), nil })
		},
		"ForcePerm": func(name string) error {
			return durable.WriteFile(name, []byte("new"), 0o640, durable.ForcePerm())
		},
		"Backup": func(name string) error { return durable.WriteFile(name, []byte("new"), 0o600, durable.Backup()) },
	}
	for what, op := range ops {
		t.Run(what, func(t *testing.T) {
			dir := testdir.New(t)
			name := filepath.Join(dir, "f")
			if err := os.WriteFile(name, []byte("old"), 0o640); err != nil {
				t.Fatal(err)
			}
			big := bytes.Repeat([]byte("v"), 3000) // longer than the first buffer
			setxattrOrSkip(t, name, "user.small", []byte("1"))
			setxattrOrSkip(t, name, "user.big", big)
			setxattrOrSkip(t, name, "user.empty", nil)
			acl := posixACL()
			haveACL := unix.Setxattr(name, "system.posix_acl_access", acl, 0) == nil
			if err := op(name); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(name); string(b) != "new" {
				t.Fatalf("content %q", b)
			}
			if got := getxattr(t, name, "user.small"); string(got) != "1" {
				t.Errorf("user.small = %q", got)
			}
			if got := getxattr(t, name, "user.big"); !bytes.Equal(got, big) {
				t.Errorf("user.big has %d bytes, want %d", len(got), len(big))
			}
			if got := getxattr(t, name, "user.empty"); got == nil {
				t.Errorf("user.empty lost")
			}
			if !haveACL {
				t.Log("no POSIX ACLs on this filesystem: not checked")
				return
			}
			if got := getxattr(t, name, "system.posix_acl_access"); !bytes.Equal(got, acl) {
				t.Errorf("ACL = %x, want %x", got, acl)
			}
			fi, _ := os.Stat(name)
			want := os.FileMode(0o640) // the mask (r) is the group bits
			if fi.Mode().Perm() != want {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), want)
			}
		})
	}
}

// Root keeps a file capability, which the kernel clears on every write
// to the file: so it is set after the last one, before the rename.
func TestRootKeepsFileCapability(t *testing.T) {
	needRoot(t)
	dir := testdir.New(t)
	name := filepath.Join(dir, "tool")
	if err := os.WriteFile(name, []byte("old"), 0o755); err != nil {
		t.Fatal(err)
	}
	// VFS_CAP_REVISION_2, effective, cap_net_bind_service permitted.
	caps := make([]byte, 20)
	binary.LittleEndian.PutUint32(caps[0:], 0x02000001)
	binary.LittleEndian.PutUint32(caps[4:], 1<<10)
	setxattrOrSkip(t, name, "security.capability", caps)
	p, err := durable.Create(name, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Cleanup()
	for range 3 {
		if _, err := p.WriteString("new"); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := getxattr(t, name, "security.capability"); !bytes.Equal(got, caps) {
		t.Errorf("security.capability = %x, want %x", got, caps)
	}
}
