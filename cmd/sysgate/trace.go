package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sysgate/sysgate/sandbox"
	"github.com/sysgate/sysgate/trace"
)

func cmdTrace(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	// A closed output (sysgate trace ... 2>&1 | head) must not kill the
	// tracer while it holds the tracees: with SIGPIPE caught, writes fail
	// with EPIPE instead. Caught, not ignored: an ignored signal would stay
	// ignored in the tracee after exec. ("sysgate run" catches it in
	// package runner.)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	fs := newFlags("trace", stdout)
	follow := fs.Bool("f", false, "follow forks, clones, vforks, threads and execs (implied with seccomp)")
	var sel *trace.Selection
	status := trace.AllStatus
	fs.Func("e", "`expr`: trace=[!][?]{name|%class|/regex|all|none},... or status={successful|failed|unfinished},... (repeatable)", func(v string) error {
		key, val, ok := strings.Cut(v, "=")
		if !ok {
			key, val = "trace", v
		}
		switch key {
		case "trace", "t":
			s, err := trace.ParseSelection(val)
			if err != nil {
				return err
			}
			sel = s
		case "status":
			st, err := trace.ParseStatus(val)
			if err != nil {
				return err
			}
			status = st
		default:
			return fmt.Errorf("-e %s=: unsupported qualifier (trace and status are)", key)
		}
		return nil
	})
	outPath := fs.String("o", "", "write the trace to `file` instead of stderr")
	count := fs.Bool("c", false, "count time, calls and errors per syscall and print a summary at the end")
	strsize := fs.Int("s", 32, "show at most `n` bytes of each string")
	fdPaths := fs.Bool("y", false, "show the paths of file descriptors")
	tt := fs.Bool("tt", false, "prefix each line with the time of day, in microseconds")
	durations := fs.Bool("T", false, "show the time spent in each syscall")
	attach := fs.Int("p", 0, "attach to the running process `pid` (no seccomp filter can be added to it)")
	jsonOut := fs.Bool("json", false, "one JSON object per syscall or event")
	noSeccomp := fs.Bool("no-seccomp", false, "stop at every syscall instead of installing a seccomp filter that stops only at the traced ones")
	sameCPU := fs.Bool("same-cpu", true, "run the program and the tracer on one CPU: stops cost several times less, but the program sees one CPU")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *strsize < 0 {
		return usagef("-s: negative size %d", *strsize)
	}
	if *attach == 0 && fs.NArg() == 0 {
		return usagef("no program to trace (give a command or -p <pid>)")
	}
	if *attach != 0 && fs.NArg() > 0 {
		return usagef("-p and a command exclude each other")
	}
	if *attach < 0 {
		return usagef("-p: bad pid %d", *attach)
	}

	out, lineBuffered := stderr, false
	if *outPath != "" {
		f, err := os.Create(*outPath)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	} else {
		lineBuffered = true // interleaved with the program's own output
	}
	pr := trace.NewPrinter(out)
	pr.JSON, pr.Timestamps, pr.Durations, pr.Count, pr.Status = *jsonOut, *tt, *durations, *count, status
	opts := trace.Options{
		Select: sel, NoSeccomp: *noSeccomp, Follow: *follow, StrSize: *strsize, FDPaths: *fdPaths,
		SameCPU: *sameCPU && *attach == 0,
		Printer: pr, LineBuffered: lineBuffered && !*count, Notices: stderr,
	}
	// SIGINT and friends end the trace cleanly: launched tracees die with
	// it, attached ones are detached and go on.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer stop()

	var res *trace.Result
	var err error
	if *attach != 0 {
		fmt.Fprintf(stderr, "sysgate trace: attaching to %d: no seccomp filter can be installed into a running process, so every syscall stops it\n", *attach)
		res, err = trace.Attach(ctx, *attach, opts)
	} else {
		argv := fs.Args()
		prog, lerr := lookProgram("trace", argv[0], stderr)
		if lerr != nil {
			return lerr
		}
		res, err = trace.Launch(ctx, sandbox.Config{
			Path: prog, Args: argv, Env: os.Environ(),
			Stdin: fileOr(stdin, os.Stdin), Stdout: fileOr(stdout, os.Stdout), Stderr: fileOr(stderr, os.Stderr),
		}, opts)
	}
	if err != nil {
		return err
	}
	if *count {
		if err := pr.Summary(out); err != nil {
			return err
		}
	}
	if res.ExitCode != 0 {
		return &exitError{res.ExitCode}
	}
	return nil
}
