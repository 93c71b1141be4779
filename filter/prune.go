package filter

import (
	"fmt"

	"github.com/sysgate/sysgate/bpf"
)

func fmtTooLong(n int) error {
	return fmt.Errorf("compiled program has %d instructions: %w; split the policy or use fewer argument conditions", n, ErrTooLong)
}

// prune drops the instructions that no path reaches (returns of verdicts
// whose conditions folded away, say), so the program has no dead code.
func prune(prog []bpf.Instruction) []bpf.Instruction {
	reach := bpf.Reachable(prog)
	newPC := make([]int, len(prog)+1)
	n := 0
	for pc := range prog {
		newPC[pc] = n
		if reach[pc] {
			n++
		}
	}
	newPC[len(prog)] = n
	out := make([]bpf.Instruction, 0, n)
	for pc, ins := range prog {
		if !reach[pc] {
			continue
		}
		at := newPC[pc]
		switch {
		case ins.Class() == bpf.ClassJMP && ins.Op&0xf0 == bpf.JumpJA:
			ins.K = uint32(newPC[pc+1+int(ins.K)] - at - 1)
		case ins.IsConditionalJump():
			// Offsets only shrink, so they still fit in 8 bits.
			ins.Jt = uint8(newPC[pc+1+int(ins.Jt)] - at - 1)
			ins.Jf = uint8(newPC[pc+1+int(ins.Jf)] - at - 1)
		}
		out = append(out, ins)
	}
	return out
}
