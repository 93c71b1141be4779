package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/region"
	"io"
	"strconv"
	"strings"

	"github.com/sysgate/sysgate/features"
	"github.com/sysgate/sysgate/inspect"
	"github.com/sysgate/sysgate/sandbox"
)

func cmdInspect(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", stdout)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	noStop := fs.Bool("no-stop", false, "do not stop the process (no ptrace): report only what /proc shows, without the filters")
	noDisasm := fs.Bool("no-disassembly", false, "leave the filters' disassembly out")
	polPath := fs.String("policy", "", "also show, for each code region of the process, the from: rules of this policy `file` that apply to it")
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
	var rules []regionRules
	if *polPath != "" {
		pf := policyFlags{}
		p, _, err := pf.load(*polPath, stderr)
		if err != nil {
			return err
		}
		if rules, err = rulesByRegion(p, pid); err != nil {
			return err
		}
	}
	if *asJSON {
		if rules == nil {
			return r.WriteJSON(stdout)
		}
		var buf bytes.Buffer
		if err := r.WriteJSON(&buf); err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(struct {
			Report json.RawMessage `json:"report"`
			Rules  []regionRules   `json:"rules_by_region"`
		}{buf.Bytes(), rules})
	}
	if err := r.WriteText(stdout); err != nil {
		return err
	}
	if rules != nil {
		fmt.Fprintf(stdout, "\nfrom: rules of %s by code region:\n", *polPath)
		for _, g := range rules {
			fmt.Fprintf(stdout, "  %-16s %s\n", g.Range, g.Region)
			if len(g.Rules) == 0 {
				fmt.Fprintf(stdout, "      no from: rule applies\n")
			}
			for _, x := range g.Rules {
				fmt.Fprintf(stdout, "      %s\n", x)
			}
		}
	}
	return nil
}

// regionRules lists the from: rules of a policy that apply to one code
// region of a process.
type regionRules struct {
	Range  string   `json:"range"`
	Region string   `json:"region"`
	Rules  []string `json:"rules"`
}

func rulesByRegion(p *policy.Policy, pid int) ([]regionRules, error) {
	mp, err := region.ReadMap(pid)
	if err != nil {
		return nil, err
	}
	out := []regionRules{}
	for _, m := range mp.Executable() {
		g := regionRules{Range: fmt.Sprintf("%x-%x", m.Start, m.End), Region: mp.Name(m), Rules: []string{}}
		for _, rule := range p.Rules {
			if rule.From != nil && rule.From.Match(m, mp.Exe) {
				g.Rules = append(g.Rules, fmt.Sprintf("rule at %v: %v for %s", rule.Pos, rule.Action, strings.Join(rule.Syscalls, " ")))
			}
		}
		out = append(out, g)
	}
	return out, nil
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
