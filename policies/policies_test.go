package policies_test

import (
	"testing"

	"github.com/sysgate/sysgate/filter"
	"github.com/sysgate/sysgate/policies"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/syscalls"
)

// The default policy loads without a warning on every native arch it
// names, every denial has its reason, and it compiles.
func TestDefaultPolicy(t *testing.T) {
	for _, arch := range []*syscalls.Arch{syscalls.X86_64, syscalls.AArch64, syscalls.RISCV64, syscalls.PPC64LE, syscalls.S390X} {
		t.Run(arch.Name, func(t *testing.T) {
			p, warnings, err := policy.Parse(policies.Default, "default.yaml", policy.Options{Arch: arch})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range warnings {
				t.Errorf("warning: %v", w)
			}
			for _, r := range p.Rules {
				if r.Action.Kind != policy.Allow && r.Comment == "" {
					t.Errorf("denial at %v has no reason", r.Pos)
				}
			}
			if _, err := filter.Compile(p, arch, filter.Options{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDefaultPolicyVerdicts(t *testing.T) {
	p, _, err := policy.Parse(policies.Default, "default.yaml", policy.Options{Arch: syscalls.X86_64})
	if err != nil {
		t.Fatal(err)
	}
	a := syscalls.X86_64
	for _, tc := range []struct {
		name string
		args [6]uint64
		want string
	}{
		{"read", [6]uint64{}, "allow"},
		{"mount", [6]uint64{}, "errno EPERM"},
		{"clone", [6]uint64{0x1200011}, "allow"},             // fork: CLONE_CHILD_SETTID|CLEARTID|SIGCHLD
		{"clone", [6]uint64{0x10000000 | 17}, "errno EPERM"}, // CLONE_NEWUSER
		{"clone3", [6]uint64{}, "errno ENOSYS"},
		{"personality", [6]uint64{0xffffffff}, "allow"},
		{"personality", [6]uint64{0x400000}, "errno EPERM"},
		{"ptrace", [6]uint64{0}, "allow"}, // PTRACE_TRACEME
		{"ptrace", [6]uint64{16}, "errno EPERM"},
		{"io_uring_setup", [6]uint64{}, "errno EPERM"},
	} {
		nr, ok := a.Lookup(tc.name)
		if !ok {
			t.Fatalf("no %s on x86_64", tc.name)
		}
		if got, _ := p.Decide(a.Audit, nr, tc.args); got.String() != tc.want {
			t.Errorf("%s%#x: %v, want %s", tc.name, tc.args[0], got, tc.want)
		}
	}
	if got, _ := p.Decide(a.Audit, 0x40000000, [6]uint64{}); got.Kind != policy.KillProcess {
		t.Errorf("x32 read: %v, want kill-process", got)
	}
	if got, _ := p.Decide(syscalls.I386.Audit, 3, [6]uint64{}); got.Kind != policy.KillProcess {
		t.Errorf("i386 read: %v, want kill-process", got)
	}
	if got, _ := p.Decide(a.Audit, 999, [6]uint64{}); got.String() != "errno ENOSYS" {
		t.Errorf("unknown syscall: %v, want errno ENOSYS", got)
	}
}
