package bpf

// The opcode tables below carry the kernel's two whitelists:
// chk_code_allowed in net/core/filter.c (classic BPF) and the switch in
// seccomp_check_filter in kernel/seccomp.c (the subset seccomp accepts).
// Both compare the whole 16-bit code, so a known operation with a stray
// size or mode bit is an unknown opcode.

// Fields an opcode reads, beyond the opcode itself.
const (
	useK = 1 << iota // K is an operand
	useJ             // Jt and Jf are jump offsets
)

type opInfo struct {
	asm     bool  // has a bpf_asm form
	known   bool  // a classic BPF opcode (chk_code_allowed)
	seccomp bool  // also allowed in seccomp filters
	uses    uint8 // useK | useJ
}

var opTable [256]opInfo

func init() {
	set := func(op uint16, seccomp bool, uses uint8) {
		opTable[op] = opInfo{asm: true, known: true, seccomp: seccomp, uses: uses}
	}
	// Loads into A.
	set(ClassLD|ModeIMM, true, useK)
	set(ClassLD|SizeW|ModeABS, true, useK)
	set(ClassLD|SizeH|ModeABS, false, useK)
	set(ClassLD|SizeB|ModeABS, false, useK)
	set(ClassLD|SizeW|ModeIND, false, useK)
	set(ClassLD|SizeH|ModeIND, false, useK)
	set(ClassLD|SizeB|ModeIND, false, useK)
	set(ClassLD|ModeMEM, true, useK)
	set(ClassLD|SizeW|ModeLEN, true, 0)
	// Loads into X.
	set(ClassLDX|ModeIMM, true, useK)
	set(ClassLDX|ModeMEM, true, useK)
	set(ClassLDX|SizeW|ModeLEN, true, 0)
	set(ClassLDX|SizeB|ModeMSH, false, useK)
	// Stores.
	set(ClassST, true, useK)
	set(ClassSTX, true, useK)
	// ALU; MOD is classic but not in seccomp's list.
	for _, op := range []uint16{AluADD, AluSUB, AluMUL, AluDIV, AluOR, AluAND, AluLSH, AluRSH, AluMOD, AluXOR} {
		set(ClassALU|op|SrcK, op != AluMOD, useK)
		set(ClassALU|op|SrcX, op != AluMOD, 0)
	}
	set(ClassALU|AluNEG, true, 0)
	// Jumps.
	set(ClassJMP|JumpJA, true, useK)
	for _, op := range []uint16{JumpJEQ, JumpJGT, JumpJGE, JumpJSET} {
		set(ClassJMP|op|SrcK, true, useK|useJ)
		set(ClassJMP|op|SrcX, true, useJ)
	}
	// Returns and register moves. RET X (0x0e) exists in bpf_asm but not
	// in the kernel's table.
	set(ClassRET|RetK, true, useK)
	set(ClassRET|RetA, true, 0)
	set(ClassMISC|MiscTAX, true, 0)
	set(ClassMISC|MiscTXA, true, 0)
	opTable[ClassRET|0x08] = opInfo{asm: true} // ret x
}

func info(op uint16) opInfo {
	if op >= uint16(len(opTable)) {
		return opInfo{}
	}
	return opTable[op]
}

// Canonical returns i with the fields its opcode does not read set to
// zero: the kernel ignores them, and the assembler cannot express them.
// An opcode without a bpf_asm form is returned unchanged.
func (i Instruction) Canonical() Instruction {
	in := info(i.Op)
	if !in.asm {
		return i
	}
	if in.uses&useK == 0 {
		i.K = 0
	}
	if in.uses&useJ == 0 {
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
