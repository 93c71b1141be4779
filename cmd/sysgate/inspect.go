package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/sysgate/sysgate/features"
	"github.com/sysgate/sysgate/inspect"
	"github.com/sysgate/sysgate/sandbox"
)

func cmdInspect(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", stdout)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	noStop := fs.Bool("no-stop", false, "do not stop the process (no ptrace): report only what /proc shows, without the filters")
	noDisasm := fs.Bool("no-disassembly", false, "leave the filters' disassembly out")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one pid")
	}
	pid, err := strconv.Atoi(fs.Arg(0))
	if err != nil || pid <= 0 {
		return usagef("%q is not a process id", fs.Arg(0))
	}
	r, err := inspect.Inspect(pid, inspect.Options{NoStop: *noStop, NoDisassembly: *noDisasm})
	if err != nil {
		return err
	}
	if *asJSON {
		return r.WriteJSON(stdout)
	}
	return r.WriteText(stdout)
}

func cmdFeatures(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("features", stdout)
	asJSON := fs.Bool("json", false, "print the features as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("no arguments expected")
	}
	// The listener features can only be asked of a real listener: start
	// a throwaway sandboxed child to get one.
	if err := sandbox.ProbeFeatures(); err != nil {
		fmt.Fprintf(stderr, "sysgate features: probing with a listener: %v\n", err)
	}
	list := features.Report()
	if *asJSON {
		type row struct {
			Name      string `json:"name"`
			MinKernel string `json:"min_kernel"`
			Status    string `json:"status"`
		}
		rows := make([]row, len(list))
		for i, f := range list {
			rows[i] = row{f.Name, f.MinKernel, f.Status()}
		}
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		return e.Encode(rows)
	}
	for _, f := range list {
		fmt.Fprintf(stdout, "%-44s %-6s %s\n", f.Name, "("+f.MinKernel+")", f.Status())
	}
	return nil
}
