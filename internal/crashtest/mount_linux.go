package crashtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// PowerCutSupported reports whether this process can run power cuts: it
// needs root, loop devices and the mount, losetup and xfs_io tools. why
// says what is missing, in a few words ("needs root ...").
func PowerCutSupported() (ok bool, why string) {
	if os.Geteuid() != 0 {
		return false, fmt.Sprintf("needs root to mount loop devices (running as uid %d)", os.Geteuid())
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		return false, "needs loop devices (/dev/loop-control is missing)"
	}
	for _, tool := range []string{"losetup", "mount", "umount", "xfs_io"} {
		if _, err := exec.LookPath(tool); err != nil {
			hint := ""
			if tool == "xfs_io" {
				hint = " (install xfsprogs)"
			}
			return false, fmt.Sprintf("needs %s, which is not in PATH%s", tool, hint)
		}
	}
	return true, ""
}

// FSSupported reports whether NewLoop can make a filesystem of this type:
// its mkfs tool is installed and the kernel knows it.
func FSSupported(fstype string) (ok bool, why string) {
	mkfs := "mkfs." + fstype
	if fstype != "ext4" && fstype != "xfs" {
		return false, fmt.Sprintf("only ext4 and xfs can be shut down, not %s", fstype)
	}
	if _, err := exec.LookPath(mkfs); err != nil {
		hint := ""
		if fstype == "xfs" {
			hint = " (install xfsprogs)"
		}
		return false, fmt.Sprintf("needs %s, which is not in PATH%s", mkfs, hint)
	}
	if !kernelHas(fstype) {
		// The module may just not be loaded yet.
		exec.Command("modprobe", fstype).Run()
		if !kernelHas(fstype) {
			return false, fmt.Sprintf("the kernel does not support %s", fstype)
		}
	}
	return true, ""
}

func kernelHas(fstype string) bool {
	data, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return true // cannot tell: let mount decide
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(strings.TrimPrefix(line, "nodev")) == fstype {
			return true
		}
	}
	return false
}

// NewLoop creates a sizeMB image of fstype in dir, attaches it to a loop
// device and mounts it at dir/<fstype>. xfs images are at least 300 MB, the
// smallest mkfs.xfs accepts; the image is sparse, so that costs nothing.
// ext4 is mounted with noauto_da_alloc: ext4 otherwise flushes a file's data
// when it is renamed over another, which would hide a missing fsync. Close
// undoes everything, also after a failure.
func NewLoop(dir, fstype string, sizeMB int) (m *Mount, err error) {
	var mkfs []string
	switch fstype {
	case "ext4":
		mkfs = []string{"mkfs.ext4", "-q", "-F"}
	case "xfs":
		mkfs = []string{"mkfs.xfs", "-q", "-f"}
		sizeMB = max(sizeMB, 300)
	default:
		return nil, fmt.Errorf("crashtest: cannot power-cut %s: only ext4 and xfs", fstype)
	}
	m = &Mount{FSType: fstype, Dir: filepath.Join(dir, fstype), image: filepath.Join(dir, fstype+".img")}
	defer func() {
		if err != nil {
			m.Close()
			m = nil
		}
	}()
	f, err := os.OpenFile(m.image, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	err = f.Truncate(int64(sizeMB) << 20)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if _, err := run(append(mkfs, m.image)...); err != nil {
		return nil, err
	}
	dev, err := run("losetup", "--find", "--show", m.image)
	if err != nil {
		return nil, err
	}
	m.dev = strings.TrimSpace(dev)
	if err := os.Mkdir(m.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := m.mount(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Mount) mount() error {
	args := []string{"mount", "-t", m.FSType}
	if m.FSType == "ext4" {
		args = append(args, "-o", "noauto_da_alloc")
	}
	if _, err := run(append(args, m.dev, m.Dir)...); err != nil {
		return err
	}
	m.mounted = true
	return nil
}

// arm starts xfs_io on the mount, waiting for a command on its stdin, so
// that Shutdown takes effect within microseconds of being called instead of
// after a process has started: a cut aimed just after an acknowledgement
// has to land before the writer's next fsync.
func (m *Mount) arm() error {
	if m.xfsIO != nil {
		return nil
	}
	cmd := exec.Command("xfs_io", "-x", m.Dir)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	m.xfsIOErr = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = m.xfsIOErr, m.xfsIOErr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("xfs_io: %w", err)
	}
	m.xfsIO, m.xfsIOIn = cmd, in
	return nil
}

// Shutdown cuts the power: the filesystem stops at once and its log is not
// flushed (xfs_io's shutdown without -f), so whatever an fsync had not
// committed is lost, as it would be on real hardware. Every later operation
// on the mount fails with EIO until Remount.
func (m *Mount) Shutdown() error {
	if err := m.arm(); err != nil {
		return err
	}
	cmd, out := m.xfsIO, m.xfsIOErr
	_, err := io.WriteString(m.xfsIOIn, "shutdown\n")
	m.xfsIOIn.Close() // xfs_io exits at the end of its input
	werr := cmd.Wait()
	m.xfsIO, m.xfsIOIn, m.xfsIOErr = nil, nil, nil
	if msg := strings.TrimSpace(out.String()); msg != "" {
		// xfs_io reports a failed command on its output, not in its status.
		return fmt.Errorf("xfs_io -x -c shutdown %s: %s", m.Dir, msg)
	}
	if err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("xfs_io -x -c shutdown %s: %w", m.Dir, err)
	}
	return nil
}

// disarm stops an armed xfs_io without a shutdown.
func (m *Mount) disarm() {
	if m.xfsIO == nil {
		return
	}
	m.xfsIOIn.Close()
	m.xfsIO.Wait()
	m.xfsIO, m.xfsIOIn, m.xfsIOErr = nil, nil, nil
}

// Remount unmounts and mounts again, which replays the journal, then makes
// the recovered state durable so the next cut starts from it.
func (m *Mount) Remount() error {
	if err := m.unmount(); err != nil {
		return err
	}
	if err := m.mount(); err != nil {
		return err
	}
	return m.sync()
}

func (m *Mount) sync() error {
	fd, err := unix.Open(m.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: m.Dir, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return &os.PathError{Op: "syncfs", Path: m.Dir, Err: err}
	}
	return nil
}

func (m *Mount) unmount() error {
	if !m.mounted {
		return nil
	}
	if _, err := run("umount", m.Dir); err != nil {
		return err
	}
	m.mounted = false
	return nil
}

// Close unmounts (lazily if the mount is busy), detaches the loop device
// and removes the image and the mount point. It is safe to call more than
// once and after a failed NewLoop.
func (m *Mount) Close() error {
	m.disarm() // it holds the mount busy
	var errs []error
	if m.mounted {
		if err := m.unmount(); err != nil {
			// Something still holds the mount: detach it now, the kernel
			// frees it when the last user goes.
			if _, lerr := run("umount", "-l", m.Dir); lerr != nil {
				errs = append(errs, err, lerr)
			}
			m.mounted = false
		}
	}
	if m.dev != "" {
		if _, err := run("losetup", "-d", m.dev); err != nil {
			errs = append(errs, err)
		}
		m.dev = ""
	}
	if m.image != "" {
		if err := os.Remove(m.image); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if m.Dir != "" {
		if err := os.Remove(m.Dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// run runs a tool and returns its standard output; the error carries its
// standard error.
func run(args ...string) (string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("%s: %s", strings.Join(args, " "), msg)
	}
	return stdout.String(), nil
}
