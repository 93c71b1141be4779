package trace

import (
	"fmt"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/filter"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/syscalls"
)

// Filter compiles the tracer's seccomp filter for the native arch: TRACE
// for the selected syscalls of every ABI the arch runs (x86_64, i386 and
// x32 on x86_64), ALLOW for the rest. The compiler decides the unselected
// syscalls with verdicts the kernel caches (Linux 5.11+), so they never run
// the filter after their first call. A program over the kernel's 4096
// instructions is an error wrapping filter.ErrTooLong.
func Filter(sel *Selection, native *syscalls.Arch) ([]bpf.Instruction, error) {
	arches := append([]*syscalls.Arch{native}, native.SubArches()...)
	seen := map[string]bool{}
	var names []string
	for _, a := range arches {
		for _, n := range sel.Names(a) {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	allow := policy.Action{Kind: policy.Allow}
	p := &policy.Policy{Default: allow, BadArch: allow, Arches: arches, File: "<trace>"}
	if len(names) > 0 {
		p.Rules = []policy.Rule{{Action: policy.Action{Kind: policy.Trace}, Syscalls: names}}
	}
	p.BuildIndex()
	prog, err := filter.Compile(p, native, filter.Options{})
	if err != nil {
		return nil, fmt.Errorf("compile the trace filter: %w", err)
	}
	if len(prog.Instructions) > bpf.MaxInstructions {
		return nil, fmt.Errorf("trace filter of %d instructions: %w", len(prog.Instructions), filter.ErrTooLong)
	}
	return prog.Instructions, nil
}
