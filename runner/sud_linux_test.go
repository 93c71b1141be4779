package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sysgate/sysgate/features"
	"github.com/sysgate/sysgate/internal/areas"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/region"
	"github.com/sysgate/sysgate/syscalls"
)

// exeOnly traps every call from outside the program's own text: with a
// statically linked program (libc in its text) that is one range, which
// Syscall User Dispatch can carry.
const exeOnly = `default: allow
rules:
  - trap: "%all"
    from: ["!exe"]
  - errno: EACCES
    syscalls: [getppid]
    when: "arg0 == 0"
    from: exe
`

// runAreasProgram runs prog with args under the policy and returns its
// output, exit status and sysgate's reports.
func runAreasProgram(t *testing.T, pol string, sud bool, prog string, args ...string) (string, int, string) {
	t.Helper()
	p, _, err := policy.Parse([]byte(pol), "sud.yaml", policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var report strings.Builder
	res, err := Run(context.Background(), Options{
		Policy: p, SUD: sud, Path: prog, Args: append([]string{prog}, args...),
		Stdout: f, Stderr: f, Report: &report,
	})
	if err != nil {
		return "", -1, err.Error()
	}
	text, _ := os.ReadFile(out)
	return string(text), res.ExitCode, report.String()
}

// TestSUD: under --sud, calls from the program's text are decided by the
// filter (the rule for exe), and every call from elsewhere is trapped by
// Syscall User Dispatch (si_code 2), in the first thread, in new threads
// and forked children (the kernel clears the dispatch there: sysgate sets
// it again), and in the program an exec starts (planned again).
func TestSUD(t *testing.T) {
	if err := features.HaveSyscallUserDispatch(); err != nil {
		t.Skipf("no Syscall User Dispatch: %v", err)
	}
	b, err := areas.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-t", "-r", "3", "exe", "anon", "thread:exe", "thread:anon", "fork:exe", "fork:anon", "exec", "exe", "anon", "thread:anon", "fork:anon"}
	want := map[string]string{
		"exe": "EACCES", "thread:exe": "EACCES", "fork:exe": "EACCES",
		"anon": "ENOSYS sigsys=2", "thread:anon": "ENOSYS sigsys=2", "fork:anon": "ENOSYS sigsys=2",
	}
	text, code, report := runAreasProgram(t, exeOnly, true, b.Static, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, text, report)
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 3*6+4 {
		t.Errorf("%d lines, want %d:\n%s", len(lines), 3*6+4, text)
	}
	for _, line := range lines {
		origin, got, _ := strings.Cut(line, " ")
		if got != want[origin] {
			t.Errorf("%s: %q, want %q", origin, got, want[origin])
		}
	}

	// A program executed that the policy does not fit is killed at its
	// entry point, and said so: the filter stays, planned for the first.
	libs := "default: allow\nrules:\n  - trap: \"%all\"\n    from: [\"!exe\", \"!lib:/usr/lib/**\", \"!lib:/lib/**\"]\n"
	text, code, report = runAreasProgram(t, libs, true, b.Static, "exe", "exec:"+b.Program, "exe")
	if code != 128+9 || text != "exe ok\n" || !strings.Contains(report, "after exec: --sud: Syscall User Dispatch allows one contiguous range") {
		t.Errorf("exec of a program that does not fit: exit %d\n%s\n%s", code, text, report)
	}

	// The same policy with the filter alone: the same verdicts, the trap
	// of code made after start-up sent by the supervisor (SI_TKILL).
	text, code, report = runAreasProgram(t, exeOnly, false, b.Static, "-t", "exe", "anon", "thread:anon")
	if code != 0 || text != "exe EACCES\nanon ENOSYS sigsys=-6\nthread:anon ENOSYS sigsys=-6\n" {
		t.Errorf("filter: exit %d\n%s\n%s", code, text, report)
	}
}

// TestSUDRefused: policies and programs Syscall User Dispatch cannot
// carry are refused before the program runs a line of its own, naming why.
func TestSUDRefused(t *testing.T) {
	if err := features.HaveSyscallUserDispatch(); err != nil {
		t.Skipf("no Syscall User Dispatch: %v", err)
	}
	b, err := areas.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, policy, prog, want string
	}{
		{"the program and its libraries", "default: allow\nrules:\n  - trap: \"%all\"\n    from: [\"!exe\", \"!lib:/usr/lib/**\", \"!lib:/lib/**\"]\n", b.Program, "one contiguous range"},
		{"an errno, not a trap", "default: allow\nrules:\n  - errno: EPERM\n    syscalls: [\"%all\"]\n    from: [\"!exe\"]\n", b.Static, "does not trap every call from anonymous memory"},
		{"some calls only", "default: allow\nrules:\n  - trap: [getppid]\n    from: [\"!exe\"]\n", b.Static, "does not trap every call from anonymous memory"},
		{"no from: rules", "default: allow\n", b.Static, "no from: rules"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, code, report := runAreasProgram(t, tc.policy, true, tc.prog, "exe")
			if code != -1 || !strings.Contains(report, tc.want) || text != "" {
				t.Errorf("exit %d, output %q, error %q; want a refusal saying %q", code, text, report, tc.want)
			}
		})
	}
}

// TestPlanSUD checks the plan on made-up maps: the range, holes and
// foreign code inside it, and rules that tell the range's mappings apart.
func TestPlanSUD(t *testing.T) {
	arch := syscalls.X86_64
	mp := &region.Map{Exe: "/bin/prog", Mappings: []region.Mapping{
		{Start: 0x400000, End: 0x401000, Perms: "r--p", Path: "/bin/prog"},
		{Start: 0x401000, End: 0x480000, Perms: "r-xp", Path: "/bin/prog"},
		{Start: 0x480000, End: 0x4a0000, Perms: "r--p", Path: "/bin/prog"},
		{Start: 0x7ffd0000, End: 0x7ffd2000, Perms: "r-xp", Path: "[vdso]"},
	}}
	parse := func(s string) *policy.Policy {
		p, _, err := policy.Parse([]byte(s), "p.yaml", policy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	plan, err := planSUD(parse(exeOnly), arch, mp)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Lo != 0x401000 || plan.Hi != 0x480000 || len(plan.Inside.Rules) != 1 || plan.Inside.Rules[0].From != nil {
		t.Errorf("plan %#x-%#x, inside rules %+v", plan.Lo, plan.Hi, plan.Inside.Rules)
	}
	// Allowing the vDSO too spans the hole between the program and it.
	_, err = planSUD(parse("default: allow\nrules:\n  - trap: \"%all\"\n    from: [\"!exe\", \"!vdso\"]\n"), arch, mp)
	if err == nil || !strings.Contains(err.Error(), "hole") {
		t.Errorf("exe and vdso: %v, want a hole", err)
	}
	// Two mappings side by side that a rule tells apart.
	mp2 := &region.Map{Exe: "/bin/prog", Mappings: []region.Mapping{
		{Start: 0x401000, End: 0x480000, Perms: "r-xp", Path: "/bin/prog"},
		{Start: 0x480000, End: 0x490000, Perms: "r-xp", Path: "/lib/x.so"},
	}}
	_, err = planSUD(parse("default: allow\nrules:\n  - trap: \"%all\"\n    from: [\"!exe\", \"!lib:/lib/**\"]\n  - errno: EPERM\n    syscalls: [read]\n    from: exe\n"), arch, mp2)
	if err == nil || !strings.Contains(err.Error(), "tells exe from lib:/lib/x.so") {
		t.Errorf("rule telling the range apart: %v", err)
	}
}
