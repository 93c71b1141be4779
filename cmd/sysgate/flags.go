package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

var errHelp = errors.New("help requested")

// newFlags returns a flag set that prints its usage on -h and reports
// errors as usage errors instead of exiting.
func newFlags(name string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sysgate "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var c command
	for _, x := range commands {
		if x.name == name {
			c = x
		}
	}
	fs.Usage = func() {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "usage: sysgate %s %s\n\n%s.\n\nflags:\n", c.name, c.args, c.summary)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses args and turns flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp // the flag package has printed the usage
		}
		return usagef("%v", err)
	}
	return nil
}
