package durable

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// keepSecurity gives the temp file f the DACL of the file at target, with
// its protected flag, so that a replace keeps who may read and write the
// file (an administrator's tightened ACL on a token file survives every
// refresh), and the owner where this process has the privilege to give
// files away (SeRestorePrivilege); without it the new file is the
// writer's, as on Unix. Inherited entries come from the directory, the
// same for both files. A target that is gone keeps nothing; a DACL that
// cannot be read or set fails the write, as a dropped ACL could widen
// access. set reports whether a DACL was set.
func keepSecurity(f *os.File, target string) (set bool, err error) {
	sd, err := windows.GetNamedSecurityInfo(target, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.OWNER_SECURITY_INFORMATION)
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
		return false, nil
	}
	if err != nil {
		return false, &fs.PathError{Op: "getsecurityinfo", Path: target, Err: err}
	}
	dacl, _, err := sd.DACL()
	if err != nil && !errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND) {
		return false, &fs.PathError{Op: "getsecurityinfo", Path: target, Err: err}
	}
	control, _, err := sd.Control()
	if err != nil {
		return false, &fs.PathError{Op: "getsecurityinfo", Path: target, Err: err}
	}
	info := windows.SECURITY_INFORMATION(windows.DACL_SECURITY_INFORMATION | windows.UNPROTECTED_DACL_SECURITY_INFORMATION)
	if control&windows.SE_DACL_PROTECTED != 0 {
		info = windows.DACL_SECURITY_INFORMATION | windows.PROTECTED_DACL_SECURITY_INFORMATION
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = windows.SetSecurityInfo(windows.Handle(fd), windows.SE_FILE_OBJECT, info, nil, nil, dacl, nil)
	}); err != nil {
		return false, err
	}
	if serr != nil {
		return false, &fs.PathError{Op: "setsecurityinfo", Path: f.Name(), Err: serr}
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return true, nil
	}
	cur, err := windows.GetNamedSecurityInfo(f.Name(), windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return true, nil
	}
	if have, _, err := cur.Owner(); err == nil && have != nil && have.Equals(owner) {
		return true, nil
	}
	// Giving a file to another owner takes a privilege most writers do
	// not hold; without it the new file is the writer's.
	err = windows.SetNamedSecurityInfo(f.Name(), windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION, owner, nil, nil, nil)
	if err != nil && !errors.Is(err, windows.ERROR_INVALID_OWNER) && !errors.Is(err, windows.ERROR_ACCESS_DENIED) &&
		!errors.Is(err, windows.ERROR_PRIVILEGE_NOT_HELD) {
		return true, &fs.PathError{Op: "setsecurityinfo", Path: f.Name(), Err: err}
	}
	return true, nil
}
