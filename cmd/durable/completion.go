package main

import (
	"fmt"
	"sort"
	"strings"
)

func completionVerb() verb {
	return verb{
		name:    "completion",
		args:    "bash|zsh|fish",
		summary: "print a shell completion script",
		about: `Prints a script that completes durable's commands and subcommands in bash,
zsh or fish; files complete as usual. Load it from your shell's startup file.

Exit codes: 0 printed; 2 usage error (no or an unknown shell).`,
		example: `durable completion bash > /etc/bash_completion.d/durable
durable completion zsh > "${fpath[1]}/_durable"
durable completion fish > ~/.config/fish/completions/durable.fish`,
		run: runCompletion,
	}
}

// subcommandNames lists, for each verb that has them, its subcommands.
func subcommandNames() map[string][]string {
	keys := func(m map[string]subverb) []string {
		var ns []string
		for n := range m {
			ns = append(ns, n)
		}
		sort.Strings(ns)
		return ns
	}
	return map[string][]string{
		"log":        keys(logSubs()),
		"witness":    keys(witnessSubs()),
		"queue":      keys(queueSubs()),
		"jsonl":      {"append", "repair"},
		"store":      {"delete", "get", "incr", "set"},
		"bench":      {"log", "queue", "store", "update", "write"},
		"completion": {"bash", "fish", "zsh"},
		"help":       visibleVerbNames(),
	}
}

func visibleVerbNames() []string {
	var names []string
	for _, v := range verbs() {
		if !v.hidden {
			names = append(names, v.name)
		}
	}
	return names
}

func runCompletion(c *cli, args []string) int {
	fs := c.flags()
	rest, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("want one shell: bash, zsh or fish")
	}
	verbs := append(visibleVerbNames(), "help")
	subs := subcommandNames()
	var names []string
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	switch rest[0] {
	case "bash":
		b.WriteString("# bash completion for durable\n_durable() {\n")
		b.WriteString("    local cur=${COMP_WORDS[COMP_CWORD]}\n")
		b.WriteString("    if [ \"$COMP_CWORD\" -eq 1 ]; then\n")
		fmt.Fprintf(&b, "        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n        return\n    fi\n", strings.Join(verbs, " "))
		b.WriteString("    if [ \"$COMP_CWORD\" -eq 2 ]; then\n        case ${COMP_WORDS[1]} in\n")
		for _, n := range names {
			fmt.Fprintf(&b, "        %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return;;\n", n, strings.Join(subs[n], " "))
		}
		b.WriteString("        esac\n    fi\n    COMPREPLY=($(compgen -f -- \"$cur\"))\n}\n")
		b.WriteString("complete -o default -F _durable durable\n")
	case "zsh":
		b.WriteString("#compdef durable\n# zsh completion for durable\n_durable() {\n")
		b.WriteString("    if (( CURRENT == 2 )); then\n")
		fmt.Fprintf(&b, "        compadd -- %s\n        return\n    fi\n", strings.Join(verbs, " "))
		b.WriteString("    if (( CURRENT == 3 )); then\n        case ${words[2]} in\n")
		for _, n := range names {
			fmt.Fprintf(&b, "        %s) compadd -- %s; return;;\n", n, strings.Join(subs[n], " "))
		}
		b.WriteString("        esac\n    fi\n    _files\n}\n")
		b.WriteString("if [ \"$funcstack[1]\" = \"_durable\" ]; then\n    _durable \"$@\"\nelse\n    compdef _durable durable\nfi\n")
	case "fish":
		b.WriteString("# fish completion for durable\n")
		for _, v := range verbs {
			fmt.Fprintf(&b, "complete -c durable -n __fish_use_subcommand -a %s\n", v)
		}
		for _, n := range names {
			fmt.Fprintf(&b, "complete -c durable -n '__fish_seen_subcommand_from %s' -a %q\n", n, strings.Join(subs[n], " "))
		}
	default:
		return c.usageError(fmt.Sprintf("unknown shell %q: want bash, zsh or fish", rest[0]))
	}
	c.stdout.Write([]byte(b.String()))
	return exitOK
}
