//go:build !linux

package crashtest

import (
	"errors"
	"runtime"
)

const noLoop = "needs Linux loop devices (this is " + runtime.GOOS + ")"

var errNoLoop = errors.New("crashtest: power cuts " + noLoop)

// PowerCutSupported reports why power cuts cannot run here.
func PowerCutSupported() (ok bool, why string) { return false, noLoop }

// FSSupported reports why power cuts cannot run here.
func FSSupported(fstype string) (ok bool, why string) { return false, noLoop }

// NewLoop fails: only Linux has the loop devices and shutdown ioctl.
func NewLoop(dir, fstype string, sizeMB int) (*Mount, error) { return nil, errNoLoop }

func (m *Mount) arm() error { return errNoLoop }

// Shutdown fails outside Linux.
func (m *Mount) Shutdown() error { return errNoLoop }

// Remount fails outside Linux.
func (m *Mount) Remount() error { return errNoLoop }

// Close does nothing outside Linux.
func (m *Mount) Close() error { return nil }
