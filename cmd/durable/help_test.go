package main

import (
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		r := runCLI(t, nil, args...)
		if r.code != exitOK || r.stderr != "" {
			t.Fatalf("durable %v: %v", args, r)
		}
		for _, want := range []string{"usage: durable <command>", "write", "demo", "version",
			"$ durable demo", "Exit codes:", " 3  file exists", "10  conflicting update"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("durable %v does not mention %q:\n%s", args, want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, crashWriterName) {
			t.Errorf("durable %v lists the hidden verb %s", args, crashWriterName)
		}
	}
	if r := runCLI(t, nil); r.code != exitUsage || !strings.Contains(r.stderr, "usage:") {
		t.Errorf("durable with no arguments: %v", r)
	}
	if r := runCLI(t, nil, "frobnicate"); r.code != exitUsage || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("durable frobnicate: %v", r)
	}
}

func TestVerbHelp(t *testing.T) {
	for _, v := range verbs() {
		if v.hidden {
			continue
		}
		for _, args := range [][]string{{v.name, "--help"}, {v.name, "-h"}, {"help", v.name}} {
			r := runCLI(t, nil, args...)
			if r.code != exitOK || r.stderr != "" {
				t.Errorf("durable %v: %v", args, r)
				continue
			}
			for _, want := range []string{"usage: durable " + v.name, "Example:\n  $ ", "Flags:", "--help", "Exit code"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("durable %v does not say %q:\n%s", args, want, r.stdout)
				}
			}
			_, example, _ := strings.Cut(r.stdout, "Example:")
			example, _, _ = strings.Cut(example, "\n\n")
			if !strings.Contains(example, "durable "+v.name) {
				t.Errorf("durable %v: the example does not use the verb:%s", args, example)
			}
		}
		// A bad flag is a usage error, explained on stderr.
		r := runCLI(t, nil, v.name, "--no-such-flag")
		if r.code != exitUsage || !strings.Contains(r.stderr, "usage: durable "+v.name) || r.stdout != "" {
			t.Errorf("durable %s --no-such-flag: %v", v.name, r)
		}
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, nil, "version")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "durable devel (go") {
		t.Errorf("durable version: %v", r)
	}
	if r := runCLI(t, nil, "--version"); r.code != exitOK || !strings.HasPrefix(r.stdout, "durable ") {
		t.Errorf("durable --version: %v", r)
	}
	r = runCLI(t, nil, "version", "--json")
	if r.code != exitOK || !strings.Contains(r.stdout, `"version": "devel"`) {
		t.Errorf("durable version --json: %v", r)
	}
}

func TestCrashWriterNeedsItsEnvironment(t *testing.T) {
	if r := runCLI(t, nil, crashWriterName); r.code != exitUsage {
		t.Errorf("durable %s without its environment: %v", crashWriterName, r)
	}
}

// TestSubverbHelp: every subcommand's help gives its exit codes and an
// example that uses it.
func TestSubverbHelp(t *testing.T) {
	for verb, subs := range subcommandNames() {
		if verb == "help" || verb == "bench" || verb == "store" || verb == "completion" {
			continue // arguments of one verb, not subcommands with help of their own
		}
		for _, sub := range subs {
			r := runCLI(t, nil, verb, sub, "--help")
			_, example, _ := strings.Cut(r.stdout, "Example:\n  $ ")
			example, _, _ = strings.Cut(example, "\n\n")
			if r.code != exitOK || !strings.Contains(r.stdout, "Exit code") || !strings.Contains(example, "durable "+verb+" "+sub) {
				t.Errorf("durable %s %s --help: want exit codes and an example using it\n%v", verb, sub, r)
			}
		}
	}
}
