package bpf

// Validate checks prog against the rules the kernel applies when a seccomp
// filter is loaded, in the order it applies them, and returns a
// [*ProgramError] naming the first offending pc and the reason:
//
//   - 1 to [MaxInstructions] instructions (bpf_check_basics_ok);
//   - every opcode classic BPF knows (chk_code_allowed), with sane
//     operands: no division by constant zero, shifts by constants below
//     32, scratch cells M[0] to M[15], jumps that land inside the program
//     (bpf_check_classic). Jumps are unsigned, so always forward, and every
//     path ends at a ret once the last instruction is one;
//   - the last instruction is ret #k or ret a;
//   - no scratch cell read before it is written on every path leading
//     there (check_load_and_stores);
//   - only the opcodes seccomp allows: no ldh/ldb, indirect loads, ldxb msh
//     or mod; ld [k] only at 4-byte aligned offsets inside the 64 bytes of
//     struct seccomp_data (seccomp_check_filter in kernel/seccomp.c).
//
// The kernel accepts unreachable instructions and so does Validate; see
// [Reachable].
func Validate(prog []Instruction) error {
	if err := validateClassic(prog); err != nil {
		return err
	}
	for pc, ins := range prog {
		if !info(ins.Op).seccomp() {
			return opErr(pc, ins)
		}
		if ins.Op == ClassLD|SizeW|ModeABS && (ins.K >= SeccompDataSize || ins.K&3 != 0) {
			return loadErr(pc, ins.K)
		}
	}
	return nil
}

// validateClassic is bpf_check_classic: what any classic BPF program,
// socket filter or seccomp filter, must pass.
func validateClassic(prog []Instruction) error {
	n := len(prog)
	if n == 0 {
		return progErr(-1, "empty program")
	}
	if n > MaxInstructions {
		return progErr(-1, "%d instructions, the kernel allows at most %d", n, MaxInstructions)
	}
	for pc, ins := range prog {
		if err := checkClassic(pc, ins, n); err != nil {
			return err
		}
	}
	if last := prog[n-1].Op; last != ClassRET|RetK && last != ClassRET|RetA {
		return progErr(n-1, "the last instruction is %s, it must be ret", prog[n-1])
	}
	return checkScratch(prog)
}

// checkClassic is the per-instruction part of bpf_check_classic.
func checkClassic(pc int, ins Instruction, n int) error {
	if !info(ins.Op).known() {
		return opErr(pc, ins)
	}
	k := ins.K
	switch ins.Op {
	case ClassALU | AluDIV | SrcK, ClassALU | AluMOD | SrcK:
		if k == 0 {
			return progErr(pc, "%s divides by constant zero", ins)
		}
	case ClassALU | AluLSH | SrcK, ClassALU | AluRSH | SrcK:
		if k >= 32 {
			return shiftErr(pc, k)
		}
	case ClassLD | ModeMEM, ClassLDX | ModeMEM, ClassST, ClassSTX:
		if k >= 16 {
			return memIndexErr(pc, k)
		}
	case ClassJMP | JumpJA:
		if uint64(k) >= uint64(n-pc-1) {
			return jumpErr(pc, uint64(pc)+1+uint64(k), n)
		}
	default:
		if ins.IsConditionalJump() {
			if pc+int(ins.Jt)+1 >= n {
				return progErr(pc, "true branch jumps to pc %d, past the last instruction (pc %d)", pc+int(ins.Jt)+1, n-1)
			}
			if pc+int(ins.Jf)+1 >= n {
				return progErr(pc, "false branch jumps to pc %d, past the last instruction (pc %d)", pc+int(ins.Jf)+1, n-1)
			}
		}
	}
	return nil
}

// checkScratch is the kernel's check_load_and_stores, kept as it is: one
// forward pass where a jump passes the cells known written to its targets
// and the next instruction starts from what the fall-through knows (all
// cells after a jump). Jumps and memory indexes are already checked.
func checkScratch(prog []Instruction) error {
	masks := make([]uint16, len(prog))
	for i := range masks {
		masks[i] = 0xffff
	}
	var valid uint16
	for pc, ins := range prog {
		valid &= masks[pc]
		switch ins.Op {
		case ClassST, ClassSTX:
			valid |= 1 << ins.K
		case ClassLD | ModeMEM, ClassLDX | ModeMEM:
			if valid&(1<<ins.K) == 0 {
				return progErr(pc, "%s may read M[%d] before it is written", ins, ins.K)
			}
		case ClassJMP | JumpJA:
			masks[pc+1+int(ins.K)] &= valid
			valid = 0xffff
		default:
			if ins.IsConditionalJump() && info(ins.Op).known() {
				masks[pc+1+int(ins.Jt)] &= valid
				masks[pc+1+int(ins.Jf)] &= valid
				valid = 0xffff
			}
		}
	}
	return nil
}

// Reachable reports, for each instruction, whether some path from pc 0
// reaches it, following both branches of every conditional jump. Jumps
// out of range are ignored.
func Reachable(prog []Instruction) []bool {
	live := make([]bool, len(prog))
	if len(prog) == 0 {
		return live
	}
	live[0] = true
	mark := func(t uint64) {
		if t < uint64(len(prog)) {
			live[t] = true
		}
	}
	for pc, ins := range prog {
		if !live[pc] {
			continue
		}
		switch {
		case ins.Class() == ClassRET:
		case ins.Op == ClassJMP|JumpJA:
			mark(uint64(pc) + 1 + uint64(ins.K))
		case ins.IsConditionalJump() && info(ins.Op).known():
			mark(uint64(pc) + 1 + uint64(ins.Jt))
			mark(uint64(pc) + 1 + uint64(ins.Jf))
		default:
			mark(uint64(pc) + 1)
		}
	}
	return live
}
