package main

import (
	"context"
	"io"

	"github.com/sysgate/sysgate/policies"
)

func defaultPolicy() []byte { return policies.Default }

func cmdPolicy(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("policy", stdout)
	var pf policyFlags
	pf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || fs.Arg(0) != "show" {
		return usagef("want \"show default\" or \"show <file>\"")
	}
	if fs.Arg(1) == "default" {
		// Validate it as any policy is, then print the file as written,
		// comments and all.
		if _, _, err := pf.load("default", stderr); err != nil {
			return err
		}
		_, err := stdout.Write(defaultPolicy())
		return err
	}
	p, _, err := pf.load(fs.Arg(1), stderr)
	if err != nil {
		return err
	}
	data, err := p.Format()
	if err != nil {
		return err
	}
	_, err = stdout.Write(data)
	return err
}
