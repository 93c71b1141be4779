package trace

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sysgate/sysgate/sandbox"
)

var (
	stracePid  = regexp.MustCompile(`^(\d+) +(.*)$`)
	sysgatePid = regexp.MustCompile(`^\[pid (\d+)\] (.*)$`)
	callLine   = regexp.MustCompile(`^([a-z0-9_]+)\(.*\) += (\S+)(?: (E[A-Z0-9]+))?`)
	resumed    = regexp.MustCompile(`^<\.\.\. ([a-z0-9_]+) resumed>.*\) += (\S+)(?: (E[A-Z0-9]+))?`)
)

// sequences parses a trace into one "name=ret ..." sequence per pid,
// with pids returned by fork/clone/wait normalised, sorted, so two runs
// compare whatever their pids and scheduling.
func sequences(text string, leader string) []string {
	per := map[string][]string{}
	var order []string
	for _, line := range strings.Split(text, "\n") {
		pid := leader
		if m := stracePid.FindStringSubmatch(line); m != nil {
			pid, line = m[1], m[2]
		} else if m := sysgatePid.FindStringSubmatch(line); m != nil {
			pid, line = m[1], m[2]
		}
		var m []string
		if m = resumed.FindStringSubmatch(line); m == nil {
			if strings.HasSuffix(line, "<unfinished ...>") {
				continue
			}
			m = callLine.FindStringSubmatch(line)
		}
		if m == nil {
			continue
		}
		name, ret := m[1], m[2]
		switch name {
		case "clone", "clone3", "fork", "vfork", "wait4", "set_tid_address", "gettid", "getpid":
			if ret != "-1" && ret != "?" && ret != "0" {
				ret = "PID"
			}
		}
		if _, ok := per[pid]; !ok {
			order = append(order, pid)
		}
		per[pid] = append(per[pid], name+"="+ret+m[3])
	}
	var out []string
	for _, pid := range order {
		out = append(out, strings.Join(per[pid], " "))
	}
	sort.Strings(out)
	return out
}

func runSysgate(t *testing.T, argv []string, opts Options) (string, *Result) {
	t.Helper()
	var buf bytes.Buffer
	opts.Printer = NewPrinter(&buf)
	res, err := Launch(context.Background(), sandbox.Config{Path: argv[0], Args: argv, Env: []string{"A=1"}}, opts)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	return buf.String(), res
}

func runStrace(t *testing.T, set string, argv []string) string {
	t.Helper()
	st := requireTool(t, "strace")
	out := filepath.Join(t.TempDir(), "strace.out")
	args := append([]string{"-f", "-e", "trace=" + set, "-o", out}, argv...)
	cmd := exec.Command(st, args...)
	cmd.Env = []string{"A=1"}
	cmd.Run() // the program's exit status is not 0 on purpose
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCompareStrace runs a program with a thread, a fork and a vfork+exec
// under strace -f and under sysgate trace (with and without seccomp) and
// wants the same syscalls with the same results, process by process.
func TestCompareStrace(t *testing.T) {
	prog := buildProg(t)
	sets := []string{
		"openat,write,close,newfstatat,fstat,execve,exit_group,exit,wait4,vfork,clone,clone3",
		"%file",
		// futex is left out: whether pthread_join waits depends on timing.
		"!%memory,%signal,%ipc,futex",
		"%process",
		"/^(open|close)",
	}
	for _, set := range sets {
		for _, noSeccomp := range []bool{false, true} {
			name := set
			if noSeccomp {
				name += "/no-seccomp"
			}
			t.Run(name, func(t *testing.T) {
				sel, err := ParseSelection(set)
				if err != nil {
					t.Fatal(err)
				}
				want := sequences(runStrace(t, set, []string{prog}), "")
				got, res := runSysgate(t, []string{prog}, Options{Select: sel, Follow: true, NoSeccomp: noSeccomp})
				if res.ExitCode != 7 {
					t.Errorf("exit code %d, want 7 (the child's 3 + 4)", res.ExitCode)
				}
				if res.Seccomp == noSeccomp {
					t.Errorf("Seccomp = %v with NoSeccomp %v", res.Seccomp, noSeccomp)
				}
				gs := sequences(got, "leader")
				if strings.Join(gs, "\n") != strings.Join(want, "\n") {
					t.Errorf("sequences differ\nsysgate:\n%s\nstrace:\n%s\nsysgate output:\n%s", strings.Join(gs, "\n"), strings.Join(want, "\n"), got)
				}
				if !noSeccomp && res.Stops > 3*res.Calls+40 {
					t.Errorf("%d stops for %d calls: seccomp should stop about twice per call", res.Stops, res.Calls)
				}
			})
		}
	}
}
