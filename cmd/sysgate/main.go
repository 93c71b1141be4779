// Command sysgate gates Linux system calls: it compiles readable policies
// to seccomp filters, runs programs under them, and reports what a process
// is subject to. Run "sysgate help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sysgate/sysgate/sandbox"
)

// exitError carries an exit status out of a command without printing.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is a bad command line: printed with a hint, exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"run", "[flags] [--] <cmd> [<arg>...]", "run a program under a policy (the built-in default unless --policy)", cmdRun},
		{"trace", "[flags] {[--] <cmd> [<arg>...] | -p <pid>}", "trace a program's syscalls, strace-style, stopping only at the traced ones (seccomp-assisted)", cmdTrace},
		{"compile", "[--arch <arch>] [--format {raw|asm|dot|oci|stats}] [-o <file>] <policy>", "compile a policy to a seccomp program", cmdCompile},
		{"check", "[--arch <arch>] [--json] <policy> <syscall> [<arg>...]", "the verdict a policy gives one syscall, by running the compiled program", cmdCheck},
		{"inspect", "[--json] <pid>", "what a process is subject to: seccomp mode, filters, no_new_privs, sealed mappings", cmdInspect},
		{"policy", "show {default|<file>}", "print the built-in default policy (or a policy, normalised)", cmdPolicy},
		{"features", "[--json]", "which kernel features sysgate can use here", cmdFeatures},
	}
}

func main() {
	// The launcher re-executes this binary as the helper that installs
	// the filter and execs the target; it never returns from here.
	sandbox.RunHelper()
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the process exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return run(ctx, []string{args[1], "-h"}, stdin, stdout, stderr)
		}
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdin, stdout, stderr)
		var ee *exitError
		var ue *usageError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.code
		case errors.Is(err, errHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "sysgate %s: %v\nusage: sysgate %s %s\n", c.name, err, c.name, c.args)
			return 2
		default:
			fmt.Fprintf(stderr, "sysgate %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "sysgate: unknown command %q; run \"sysgate help\"\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "sysgate gates Linux system calls with seccomp.\n\nusage: sysgate <command> [<arg>...]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun \"sysgate help <command>\" for a command's flags.\n")
}
