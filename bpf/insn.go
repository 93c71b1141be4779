package bpf

import (
	"fmt"
)

// Instruction is one classic BPF instruction, laid out as the kernel's
// struct sock_filter (include/uapi/linux/filter.h): 8 bytes, Op then Jt, Jf
// then K, in the machine's byte order.
type Instruction struct {
	Op uint16 // opcode: class | size/op | mode/source
	Jt uint8  // conditional jumps: instructions to skip when true
	Jf uint8  // conditional jumps: instructions to skip when false
	K  uint32 // constant operand (offset, immediate, jump distance for JA)
}

// Opcode parts, with the kernel's names (include/uapi/linux/bpf_common.h).
const (
	ClassLD   uint16 = 0x00
	ClassLDX  uint16 = 0x01
	ClassST   uint16 = 0x02
	ClassSTX  uint16 = 0x03
	ClassALU  uint16 = 0x04
	ClassJMP  uint16 = 0x05
	ClassRET  uint16 = 0x06
	ClassMISC uint16 = 0x07

	SizeW uint16 = 0x00
	SizeH uint16 = 0x08
	SizeB uint16 = 0x10

	ModeIMM uint16 = 0x00
	ModeABS uint16 = 0x20
	ModeIND uint16 = 0x40
	ModeMEM uint16 = 0x60
	ModeLEN uint16 = 0x80
	ModeMSH uint16 = 0xa0

	AluADD uint16 = 0x00
	AluSUB uint16 = 0x10
	AluMUL uint16 = 0x20
	AluDIV uint16 = 0x30
	AluOR  uint16 = 0x40
	AluAND uint16 = 0x50
	AluLSH uint16 = 0x60
	AluRSH uint16 = 0x70
	AluNEG uint16 = 0x80
	AluMOD uint16 = 0x90
	AluXOR uint16 = 0xa0

	JumpJA   uint16 = 0x00
	JumpJEQ  uint16 = 0x10
	JumpJGT  uint16 = 0x20
	JumpJGE  uint16 = 0x30
	JumpJSET uint16 = 0x40

	SrcK uint16 = 0x00
	SrcX uint16 = 0x08

	RetK uint16 = 0x00
	RetA uint16 = 0x10

	MiscTAX uint16 = 0x00
	MiscTXA uint16 = 0x80
)

// MaxInstructions is the kernel's limit on a filter's length (BPF_MAXINSNS).
const MaxInstructions = 4096

// Class returns the instruction class (ClassLD, ClassJMP, ...).
func (i Instruction) Class() uint16 { return i.Op & 0x07 }

// IsConditionalJump reports whether i is JEQ, JGT, JGE or JSET.
func (i Instruction) IsConditionalJump() bool {
	return i.Class() == ClassJMP && i.Op&0xf0 != JumpJA
}

// LoadAbs loads the 32-bit word at offset off of the input (ld [off]).
func LoadAbs(off uint32) Instruction { return Instruction{Op: ClassLD | SizeW | ModeABS, K: off} }

// JumpIf is a conditional jump comparing A with k; op is JumpJEQ, JumpJGT,
// JumpJGE or JumpJSET.
func JumpIf(op uint16, k uint32, jt, jf uint8) Instruction {
	return Instruction{Op: ClassJMP | op | SrcK, Jt: jt, Jf: jf, K: k}
}

// JumpAlways skips n instructions (ja +n).
func JumpAlways(n uint32) Instruction { return Instruction{Op: ClassJMP | JumpJA, K: n} }

// AndK sets A to A & k.
func AndK(k uint32) Instruction { return Instruction{Op: ClassALU | AluAND | SrcK, K: k} }

// Ret returns the constant k (a seccomp verdict).
func Ret(k uint32) Instruction { return Instruction{Op: ClassRET | RetK, K: k} }

// Marshal encodes a program as the kernel's struct sock_filter array, in
// the given byte order (the target machine's).
func Marshal(prog []Instruction, order ByteOrder) []byte {
	b := make([]byte, 0, 8*len(prog))
	for _, ins := range prog {
		b = order.AppendUint16(b, ins.Op)
		b = append(b, ins.Jt, ins.Jf)
		b = order.AppendUint32(b, ins.K)
	}
	return b
}

// Unmarshal decodes a struct sock_filter array.
func Unmarshal(b []byte, order ByteOrder) ([]Instruction, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("bpf program is %d bytes, not a multiple of 8", len(b))
	}
	prog := make([]Instruction, len(b)/8)
	for i := range prog {
		p := b[8*i:]
		prog[i] = Instruction{Op: order.Uint16(p), Jt: p[2], Jf: p[3], K: order.Uint32(p[4:])}
	}
	return prog, nil
}
