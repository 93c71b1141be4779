package main

import (
	"fmt"
	"io"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/filter"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/region"
	"github.com/sysgate/sysgate/syscalls"
)

// regionVerdict is the verdict of one executable mapping of a process.
type regionVerdict struct {
	Region  string `json:"region"`
	Range   string `json:"range"`
	Verdict string `json:"verdict"`
	By      string `json:"decided_by"`
}

// checkRegions runs a compiled program (compiled with mp's regions) for
// a call from each executable mapping of mp and checks the verdicts
// against the policy's.
func checkRegions(p *policy.Policy, prog *filter.Program, arch *syscalls.Arch, nr uint32, argv [6]uint64, mp *region.Map) ([]regionVerdict, error) {
	var out []regionVerdict
	for _, m := range mp.Executable() {
		ip := m.End // the syscall instruction that ends the mapping
		d := bpf.SeccompData{Nr: nr, Arch: arch.Audit, InstructionPointer: ip, Args: argv}
		res, err := bpf.RunSeccomp(prog.Instructions, d, prog.Arch.ByteOrder())
		if err != nil {
			return nil, fmt.Errorf("run compiled program: %v", err)
		}
		want, rule := p.DecideAt(arch.Audit, nr, argv, ip, mp)
		if want.Ret() != res.Ret {
			return nil, fmt.Errorf("internal error: for %s the compiled program says %v, policy says %v; please report", mp.Name(m), policy.ActionFromRet(res.Ret), want)
		}
		by := "the default verdict"
		if rule >= 0 {
			by = fmt.Sprintf("rule at %v", p.Rules[rule].Pos)
		}
		out = append(out, regionVerdict{Region: mp.Name(m), Range: fmt.Sprintf("%x-%x", m.Start, m.End), Verdict: want.String(), By: by})
	}
	return out, nil
}

func printRegions(w io.Writer, rv []regionVerdict) {
	fmt.Fprintf(w, "by region:\n")
	for _, r := range rv {
		fmt.Fprintf(w, "  %-33s %-40s %s (%s)\n", r.Range, r.Region, r.Verdict, r.By)
	}
}

// regionDependent reports whether the verdict of a syscall may depend on
// where it comes from.
func regionDependent(p *policy.Policy, name string) bool {
	for _, i := range p.RulesFor(name) {
		if p.Rules[i].From != nil {
			return true
		}
	}
	return false
}
