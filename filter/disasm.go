package filter

import (
	"fmt"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/syscalls"
)

// state is what is known about the accumulator before an instruction.
type state struct {
	src   int64  // seccomp_data offset A was loaded from, -1 unknown
	audit uint32 // audit arch known on this path, 0 unknown
}

// states computes, for each pc, what A holds and which arch was matched,
// when every path into the pc agrees. The program only jumps forward, so
// one pass in order suffices.
func states(prog []bpf.Instruction) []state {
	st := make([]state, len(prog))
	seen := make([]bool, len(prog))
	meet := func(pc int, s state) {
		if pc >= len(prog) {
			return
		}
		if !seen[pc] {
			st[pc], seen[pc] = s, true
			return
		}
		if st[pc].src != s.src {
			st[pc].src = -1
		}
		if st[pc].audit != s.audit {
			st[pc].audit = 0
		}
	}
	meet(0, state{src: -1})
	for pc, ins := range prog {
		s := st[pc]
		switch {
		case ins.Op == bpf.ClassLD|bpf.SizeW|bpf.ModeABS:
			s.src = int64(ins.K)
			meet(pc+1, s)
		case ins.Class() == bpf.ClassJMP && ins.Op&0xf0 == bpf.JumpJA:
			meet(pc+1+int(ins.K), s)
		case ins.IsConditionalJump():
			t := s
			if s.src == bpf.OffsetArch && ins.Op&0xf0 == bpf.JumpJEQ {
				t.audit = ins.K
			}
			meet(pc+1+int(ins.Jt), t)
			meet(pc+1+int(ins.Jf), s)
		case ins.Class() == bpf.ClassRET:
		default:
			s.src = -1
			meet(pc+1, s)
		}
	}
	return st
}

func archByAudit(audit uint32, nr uint32) *syscalls.Arch {
	for _, a := range syscalls.Arches() {
		if a.Audit != audit {
			continue
		}
		if a.Audit == syscalls.X86_64.Audit && (a == syscalls.X32) != (nr >= policy.X32Bit && nr != 0xffffffff) {
			continue
		}
		return a
	}
	return nil
}

// Annotator returns a disassembly annotator for a seccomp program of the
// given byte order: it names fields loaded, arches and syscalls compared,
// and verdicts returned.
func Annotator(prog []bpf.Instruction, order bpf.ByteOrder) func(pc int, ins bpf.Instruction) string {
	st := states(prog)
	return func(pc int, ins bpf.Instruction) string {
		s := st[pc]
		switch {
		case ins.Class() == bpf.ClassRET && ins.Op&0x18 == bpf.RetK:
			return policy.ActionFromRet(ins.K).String()
		case ins.Op == bpf.ClassLD|bpf.SizeW|bpf.ModeABS:
			return bpf.FieldName(ins.K, order)
		case ins.IsConditionalJump() && s.src == bpf.OffsetArch:
			for _, a := range syscalls.Arches() {
				if a.Audit == ins.K && a != syscalls.X32 {
					return "arch " + a.Name
				}
			}
		case ins.IsConditionalJump() && s.src == bpf.OffsetNr && s.audit != 0:
			op := map[uint16]string{bpf.JumpJEQ: "==", bpf.JumpJGT: ">", bpf.JumpJGE: ">="}[ins.Op&0xf0]
			if a := archByAudit(s.audit, ins.K); a != nil && op != "" {
				if name, ok := a.SyscallName(ins.K); ok {
					return fmt.Sprintf("nr %s %s (%s)", op, name, a.Name)
				}
			}
		case ins.IsConditionalJump() && s.src >= bpf.OffsetArgs:
			return bpf.FieldName(uint32(s.src), order)
		}
		return ""
	}
}

// Disassemble prints the program in bpf_asm syntax with seccomp
// annotations: fields, arches, syscall names and verdicts.
func Disassemble(p *Program) string {
	order := p.Arch.ByteOrder()
	return bpf.Disassemble(p.Instructions, bpf.DisasmOptions{Order: order, Annotate: Annotator(p.Instructions, order)})
}

// Dot renders the program's decision graph for Graphviz, one node per
// basic block, labelled like [Disassemble].
func Dot(p *Program) string {
	order := p.Arch.ByteOrder()
	return bpf.Dot(p.Instructions, bpf.DotOptions{
		Name:        "seccomp_" + p.Arch.Name,
		Order:       order,
		Label:       Annotator(p.Instructions, order),
		BasicBlocks: true,
	})
}
