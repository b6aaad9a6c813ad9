package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// An Option changes what a function of this package does: ConfigPath and
// StatePath, which, like os.UserConfigDir, are one call and done, take
// them as variadic values; Open, whose Store lives on, takes *Options
// instead (the module's rule, see the README).
type Option func(*pathOptions)

// PathOption is Option's old name.
//
// Deprecated: use Option.
type PathOption = Option

type pathOptions struct{ xdg bool }

// XDG uses the XDG layout on macOS too (~/.config, ~/.local/state, or
// $XDG_CONFIG_HOME and $XDG_STATE_HOME), as command-line tools there
// usually do, instead of ~/Library/Application Support.
func XDG() Option { return func(o *pathOptions) { o.xdg = true } }

// ConfigPath returns the path of file in app's per-user configuration
// directory:
//
//   - Linux and other Unix: $XDG_CONFIG_HOME/app/file, or ~/.config/app/file
//   - macOS: ~/Library/Application Support/app/file (with XDG: as on Linux)
//   - Windows: %AppData%\app\file
//
// It creates nothing; the store creates missing directories when it first
// writes (0o700 for secret files). app must be a single path element and
// file a relative path that stays inside it.
func ConfigPath(app, file string, opts ...Option) (string, error) {
	return userPath("config", app, file, opts)
}

// StatePath returns the path of file in app's per-user state directory,
// for data that should persist but is not configuration (history, tokens
// of a session, queues):
//
//   - Linux and other Unix: $XDG_STATE_HOME/app/file, or ~/.local/state/app/file
//   - macOS: ~/Library/Application Support/app/file (with XDG: as on Linux)
//   - Windows: %LocalAppData%\app\file
func StatePath(app, file string, opts ...Option) (string, error) {
	return userPath("state", app, file, opts)
}

func userPath(kind, app, file string, opts []Option) (string, error) {
	var o pathOptions
	for _, opt := range opts {
		opt(&o)
	}
	if app == "" || app == "." || app == ".." || strings.ContainsAny(app, `/\`) {
		return "", fmt.Errorf("store: %s path: app %q must be a single directory name", kind, app)
	}
	if file == "" || !filepath.IsLocal(file) {
		return "", fmt.Errorf("store: %s path: file %q must be a relative path inside the app's directory", kind, file)
	}
	base, err := baseDir(kind, runtime.GOOS, o.xdg)
	if err != nil {
		return "", err
	}
	return filepath.Join(base, app, file), nil
}

func baseDir(kind, goos string, xdg bool) (string, error) {
	unix := goos != "windows" && (goos != "darwin" && goos != "ios" || xdg)
	if unix {
		env, rel := "XDG_CONFIG_HOME", ".config"
		if kind == "state" {
			env, rel = "XDG_STATE_HOME", filepath.Join(".local", "state")
		}
		// The XDG spec: a relative value is invalid and ignored.
		if dir := os.Getenv(env); dir != "" && filepath.IsAbs(dir) {
			return dir, nil
		}
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("store: %s directory: %w", kind, err)
		}
		return filepath.Join(home, rel), nil
	}
	if goos == "windows" && kind == "state" {
		if dir := os.Getenv("LocalAppData"); dir != "" {
			return dir, nil
		}
		return "", errors.New("store: state directory: %LocalAppData% is not defined")
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("store: %s directory: %w", kind, err)
	}
	return dir, nil
}
