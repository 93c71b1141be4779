package bpf

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// String returns i in bpf_asm syntax (tools/bpf/bpf_exp.y), with jump
// offsets as counts of instructions to skip: "ld [4]",
// "jeq #0xc000003e, 0, 3", "ja 5", "ret #0x7fff0000". Fields the opcode
// does not use are not shown. An opcode classic BPF does not know prints
// as "raw op, jt, jf, k", which [Assemble] reads back.
func (i Instruction) String() string { return i.format(-1, 0) }

// format prints i; with pc >= 0 jump targets inside a program of n
// instructions become labels L<target>.
func (i Instruction) format(pc, n int) string {
	k := i.K
	target := func(off uint64) string {
		if pc >= 0 {
			if t := uint64(pc) + 1 + off; t < uint64(n) {
				return "L" + strconv.FormatUint(t, 10)
			}
		}
		return strconv.FormatUint(off, 10)
	}
	switch i.Op {
	case ClassLD | ModeIMM:
		return fmt.Sprintf("ld #%#x", k)
	case ClassLDX | ModeIMM:
		return fmt.Sprintf("ldx #%#x", k)
	case ClassLD | SizeW | ModeABS:
		return fmt.Sprintf("ld [%d]", k)
	case ClassLD | SizeH | ModeABS:
		return fmt.Sprintf("ldh [%d]", k)
	case ClassLD | SizeB | ModeABS:
		return fmt.Sprintf("ldb [%d]", k)
	case ClassLD | SizeW | ModeIND:
		return fmt.Sprintf("ld [x + %d]", k)
	case ClassLD | SizeH | ModeIND:
		return fmt.Sprintf("ldh [x + %d]", k)
	case ClassLD | SizeB | ModeIND:
		return fmt.Sprintf("ldb [x + %d]", k)
	case ClassLD | ModeMEM:
		return fmt.Sprintf("ld M[%d]", k)
	case ClassLDX | ModeMEM:
		return fmt.Sprintf("ldx M[%d]", k)
	case ClassLD | SizeW | ModeLEN:
		return "ld #len"
	case ClassLDX | SizeW | ModeLEN:
		return "ldx #len"
	case ClassLDX | SizeB | ModeMSH:
		return fmt.Sprintf("ldxb 4*([%d]&0xf)", k)
	case ClassST:
		return fmt.Sprintf("st M[%d]", k)
	case ClassSTX:
		return fmt.Sprintf("stx M[%d]", k)
	case ClassALU | AluNEG:
		return "neg"
	case ClassJMP | JumpJA:
		return "ja " + target(uint64(k))
	case ClassRET | RetK:
		return fmt.Sprintf("ret #%#x", k)
	case ClassRET | RetA:
		return "ret a"
	case ClassRET | 0x08:
		return "ret x"
	case ClassMISC | MiscTAX:
		return "tax"
	case ClassMISC | MiscTXA:
		return "txa"
	}
	if info(i.Op).known() {
		switch i.Class() {
		case ClassALU:
			name := nameOf(aluOps, i.Op&0xf0)
			if i.Op&SrcX != 0 {
				return name + " x"
			}
			return fmt.Sprintf("%s #%#x", name, k)
		case ClassJMP:
			name := nameOf(condOps, i.Op&0xf0)
			src := fmt.Sprintf("#%#x", k)
			if i.Op&SrcX != 0 {
				src = "x"
			}
			return fmt.Sprintf("%s %s, %s, %s", name, src, target(uint64(i.Jt)), target(uint64(i.Jf)))
		}
	}
	return fmt.Sprintf("raw %#x, %d, %d, %#x", i.Op, i.Jt, i.Jf, k)
}

// FieldName names the 32-bit word of struct seccomp_data at offset off in
// a machine of the given byte order: "nr", "arch", "ip low", "ip high",
// "arg0 low" ... "arg5 high". It returns "" for an offset that is not an
// aligned word inside the struct.
func FieldName(off uint32, order ByteOrder) string {
	if off >= SeccompDataSize || off&3 != 0 {
		return ""
	}
	switch off {
	case OffsetNr:
		return "nr"
	case OffsetArch:
		return "arch"
	}
	// The low half comes first in little-endian machines.
	half := "high"
	if (off&4 == 0) == (order != binary.BigEndian) {
		half = "low"
	}
	if off < OffsetArgs {
		return "ip " + half
	}
	return fmt.Sprintf("arg%d %s", (off-OffsetArgs)/8, half)
}

// DisasmOptions controls [Disassemble].
type DisasmOptions struct {
	// Order is the byte order of the machine the filter is for. When set,
	// ld [k] is annotated with the seccomp_data field it reads
	// ("; arg0 low"), see [FieldName].
	Order ByteOrder
	// Annotate, when set, is called for every instruction; a non-empty
	// result becomes the line's comment, replacing the default one. The
	// seccomp layer uses it to name verdicts ("return ERRNO(1)").
	Annotate func(pc int, ins Instruction) string
}

// Disassemble prints prog one instruction per line in bpf_asm syntax, each
// line labelled with its pc and jumps naming their absolute targets:
//
//	L0:   ld [4]                        ; arch
//	L1:   jeq #0xc000003e, L2, L5
//
// Comments follow ";". The text is valid input for [Assemble], which
// rebuilds prog as [Canonical] returns it, and for the kernel's bpf_asm as
// long as the program uses only instructions bpf_asm knows. A jump whose
// target lies outside the program keeps its numeric offset.
func Disassemble(prog []Instruction, opts DisasmOptions) string {
	var b strings.Builder
	width := len(strconv.Itoa(len(prog)-1)) + 2 // "L" + digits + ":"
	for pc, ins := range prog {
		text := ins.format(pc, len(prog))
		comment := ""
		if opts.Annotate != nil {
			comment = opts.Annotate(pc, ins)
		}
		if comment == "" && opts.Order != nil && ins.Op == ClassLD|SizeW|ModeABS {
			comment = FieldName(ins.K, opts.Order)
		}
		label := "L" + strconv.Itoa(pc) + ":"
		if comment == "" {
			fmt.Fprintf(&b, "%-*s %s\n", width, label, text)
			continue
		}
		comment = strings.ReplaceAll(comment, "\n", " ")
		fmt.Fprintf(&b, "%-*s %-30s ; %s\n", width, label, text, comment)
	}
	return b.String()
}
