package filter

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/internal/victim"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/sandbox"
	"github.com/sysgate/sysgate/syscalls"
)

func TestMain(m *testing.M) {
	sandbox.RunHelper()
	victim.MaybeRun()
	os.Exit(m.Run())
}

// runVictim compiles src, starts this test binary as a victim under it,
// runs the victim's steps and returns its output and shell exit code.
func runVictim(t *testing.T, src string, steps ...string) (string, int) {
	t.Helper()
	p, _, err := policy.Parse([]byte(src), "test.yaml", policy.Options{Arch: syscalls.X86_64})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(p, syscalls.X86_64, Options{})
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	proc, err := sandbox.Start(&sandbox.Config{
		Path: exe, Args: append([]string{exe}, steps...), Env: []string{victim.Env + "=1"},
		Stdout: w, Stderr: w, Filters: [][]bpf.Instruction{prog.Instructions},
	})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.ReadFrom(r)
	ps, err := proc.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), sandbox.ExitCode(ps)
}

const kernelPolicy = `
default: allow
arches: [%s]
rules:
  - errno: EACCES
    syscalls: [getpgid]
    when: arg0 == 0x100000001
  - errno: 77
    syscalls: [getpgid]
    when: arg0 == 1
  - errno: 55
    syscalls: [getpid]
  - kill-process: [getpriority]
  - trap: [getpgrp]
`

func TestKernelVerdicts(t *testing.T) {
	if syscalls.Native() != syscalls.X86_64 {
		t.Skip("the victim's raw syscalls are written for x86_64")
	}
	const (
		getpgid     = "121"
		getpid      = "39"
		getpriority = "140"
		getpgrp     = "111"
		getpidI386  = "20"
		getpidX32   = "0x40000027"
	)
	sigsys := 128 + 31
	for _, tc := range []struct {
		name   string
		arches string
		steps  []string
		want   string // output line, "" when the victim must die
		code   int
	}{
		{"64-bit argument, high half set", "x86_64", []string{"syscall", getpgid, "0x100000001"}, "ret=-1 errno=13", 0},
		{"64-bit argument, low half only", "x86_64", []string{"syscall", getpgid, "1"}, "ret=-1 errno=77", 0},
		{"unmatched condition falls to default", "x86_64", []string{"syscall", getpgid, "0"}, "errno=0", 0},
		{"unconditional errno", "x86_64", []string{"syscall", getpid}, "ret=-1 errno=55", 0},
		{"kill-process", "x86_64", []string{"syscall", getpriority, "0", "0"}, "", sigsys},
		{"trap kills a Go target", "x86_64", []string{"syscall", getpgrp}, "", 2},
		{"i386, not allowed: killed", "x86_64", []string{"i386", getpidI386}, "", sigsys},
		{"i386, allowed: the rule applies", "x86_64, i386", []string{"i386", getpidI386}, "ret=-1 errno=55", 0},
		{"x32 number, not allowed: killed", "x86_64, i386", []string{"syscall", getpidX32}, "", sigsys},
		{"x32 number, allowed: the rule applies", "x86_64, x32", []string{"syscall", getpidX32}, "ret=-1 errno=55", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.steps[0] == "i386" {
				requireI386(t)
			}
			out, code := runVictim(t, strings.Replace(kernelPolicy, "%s", tc.arches, 1), tc.steps...)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; output:\n%s", code, tc.code, out)
			}
			if tc.want != "" && !strings.Contains(out, tc.want) {
				t.Fatalf("output %q, want %q", out, tc.want)
			}
		})
	}
}

// requireI386 skips the test unless a 64-bit process can make an i386
// syscall here: kernels without IA32 emulation, booted with
// ia32_emulation=0, or run by hypervisors that turn it off (PVM: "IA-32
// emulation off: the host runs 64-bit user code only") fault instead.
func requireI386(t *testing.T) {
	t.Helper()
	if err := victim.HaveI386(); err != nil {
		t.Skipf("no i386 syscall ABI on this machine, so seccomp never sees AUDIT_ARCH_I386 here: %v", err)
	}
}
