package bpf

// The opcode tables below carry the kernel's two whitelists:
// chk_code_allowed in net/core/filter.c (classic BPF) and the switch in
// seccomp_check_filter in kernel/seccomp.c (the subset seccomp accepts).
// Both compare the whole 16-bit code, so a known operation with a stray
// size or mode bit is an unknown opcode.

// opInfo says what the kernel makes of an opcode and which fields it reads.
type opInfo uint8

const (
	useK      opInfo = 1 << iota // K is an operand
	useJ                         // Jt and Jf are jump offsets
	opAsm                        // has a bpf_asm form
	opKnown                      // a classic BPF opcode (chk_code_allowed)
	opSeccomp                    // also allowed in seccomp filters

	classicOp = opAsm | opKnown             // classic BPF, refused in seccomp filters
	seccompOp = opAsm | opKnown | opSeccomp // classic BPF seccomp accepts
)

func (in opInfo) asm() bool     { return in&opAsm != 0 }
func (in opInfo) known() bool   { return in&opKnown != 0 }
func (in opInfo) seccomp() bool { return in&opSeccomp != 0 }

// opTable describes every opcode; the unlisted ones are unknown. (A
// literal, which the compiler lays out, not a table filled in by init():
// package init runs at every start of sysgate.)
var opTable = [256]opInfo{
	// Loads into A.
	ClassLD | ModeIMM:         seccompOp | useK,
	ClassLD | SizeW | ModeABS: seccompOp | useK,
	ClassLD | SizeH | ModeABS: classicOp | useK,
	ClassLD | SizeB | ModeABS: classicOp | useK,
	ClassLD | SizeW | ModeIND: classicOp | useK,
	ClassLD | SizeH | ModeIND: classicOp | useK,
	ClassLD | SizeB | ModeIND: classicOp | useK,
	ClassLD | ModeMEM:         seccompOp | useK,
	ClassLD | SizeW | ModeLEN: seccompOp,
	// Loads into X.
	ClassLDX | ModeIMM:         seccompOp | useK,
	ClassLDX | ModeMEM:         seccompOp | useK,
	ClassLDX | SizeW | ModeLEN: seccompOp,
	ClassLDX | SizeB | ModeMSH: classicOp | useK,
	// Stores.
	ClassST:  seccompOp | useK,
	ClassSTX: seccompOp | useK,
	// ALU; MOD is classic but not in seccomp's list.
	ClassALU | AluADD | SrcK: seccompOp | useK, ClassALU | AluADD | SrcX: seccompOp,
	ClassALU | AluSUB | SrcK: seccompOp | useK, ClassALU | AluSUB | SrcX: seccompOp,
	ClassALU | AluMUL | SrcK: seccompOp | useK, ClassALU | AluMUL | SrcX: seccompOp,
	ClassALU | AluDIV | SrcK: seccompOp | useK, ClassALU | AluDIV | SrcX: seccompOp,
	ClassALU | AluOR | SrcK: seccompOp | useK, ClassALU | AluOR | SrcX: seccompOp,
	ClassALU | AluAND | SrcK: seccompOp | useK, ClassALU | AluAND | SrcX: seccompOp,
	ClassALU | AluLSH | SrcK: seccompOp | useK, ClassALU | AluLSH | SrcX: seccompOp,
	ClassALU | AluRSH | SrcK: seccompOp | useK, ClassALU | AluRSH | SrcX: seccompOp,
	ClassALU | AluMOD | SrcK: classicOp | useK, ClassALU | AluMOD | SrcX: classicOp,
	ClassALU | AluXOR | SrcK: seccompOp | useK, ClassALU | AluXOR | SrcX: seccompOp,
	ClassALU | AluNEG: seccompOp,
	// Jumps.
	ClassJMP | JumpJA:         seccompOp | useK,
	ClassJMP | JumpJEQ | SrcK: seccompOp | useK | useJ, ClassJMP | JumpJEQ | SrcX: seccompOp | useJ,
	ClassJMP | JumpJGT | SrcK: seccompOp | useK | useJ, ClassJMP | JumpJGT | SrcX: seccompOp | useJ,
	ClassJMP | JumpJGE | SrcK: seccompOp | useK | useJ, ClassJMP | JumpJGE | SrcX: seccompOp | useJ,
	ClassJMP | JumpJSET | SrcK: seccompOp | useK | useJ, ClassJMP | JumpJSET | SrcX: seccompOp | useJ,
	// Returns and register moves. RET X (0x0e) exists in bpf_asm but not
	// in the kernel's table.
	ClassRET | RetK:     seccompOp | useK,
	ClassRET | RetA:     seccompOp,
	ClassMISC | MiscTAX: seccompOp,
	ClassMISC | MiscTXA: seccompOp,
	ClassRET | 0x08:     opAsm, // ret x
}

func info(op uint16) opInfo {
	if op >= uint16(len(opTable)) {
		return 0
	}
	return opTable[op]
}

// Canonical returns i with the fields its opcode does not read set to
// zero: the kernel ignores them, and the assembler cannot express them.
// An opcode without a bpf_asm form is returned unchanged.
func (i Instruction) Canonical() Instruction {
	in := info(i.Op)
	if !in.asm() {
		return i
	}
	if in&useK == 0 {
		i.K = 0
	}
	if in&useJ == 0 {
		i.Jt, i.Jf = 0, 0
	}
	return i
}

// Canonical returns a copy of prog with every instruction made
// [Instruction.Canonical].
func Canonical(prog []Instruction) []Instruction {
	out := make([]Instruction, len(prog))
	for i, ins := range prog {
		out[i] = ins.Canonical()
	}
	return out
}
