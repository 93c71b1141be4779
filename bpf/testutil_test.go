package bpf

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

var le = binary.LittleEndian
var be = binary.BigEndian

const auditArchX86_64 = 0xc000003e

// mustAsm assembles text or fails the test.
func mustAsm(t testing.TB, text string) []Instruction {
	t.Helper()
	prog, err := Assemble(text)
	if err != nil {
		t.Fatalf("assemble: %v\n%s", err, text)
	}
	return prog
}

// mustAsmPC assembles text after labelling its lines L0, L1, ... so jumps
// can name absolute pcs as Disassemble prints them.
func mustAsmPC(t testing.TB, text string) []Instruction {
	t.Helper()
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSpace(text), "\n") {
		fmt.Fprintf(&b, "L%d: %s\n", i, line)
	}
	return mustAsm(t, b.String())
}

// randomSeccompData fills every field with values biased toward the
// constants programs compare against.
func randomSeccompData(r *rand.Rand) SeccompData {
	pick := func() uint64 {
		switch r.IntN(4) {
		case 0:
			return uint64(r.IntN(8))
		case 1:
			return r.Uint64()
		case 2:
			return uint64(r.Uint32())
		default:
			return r.Uint64() << 32
		}
	}
	d := SeccompData{Nr: uint32(pick()), Arch: uint32(pick()), InstructionPointer: pick()}
	for i := range d.Args {
		d.Args[i] = pick()
	}
	return d
}

// randomValidProgram builds a program that Validate must accept, using
// every opcode seccomp allows. Scratch cells are stored at the start when
// the program reads them.
func randomValidProgram(r *rand.Rand, n int) []Instruction {
	if n < 2 {
		n = 2
	}
	var prog []Instruction
	useMem := r.IntN(2) == 0
	if useMem {
		for i := range 16 {
			prog = append(prog, Instruction{Op: ClassST + uint16(r.IntN(2)), K: uint32(i)})
		}
	}
	aluK := []uint16{AluADD, AluSUB, AluMUL, AluDIV, AluOR, AluAND, AluLSH, AluRSH, AluXOR}
	jumps := []uint16{JumpJEQ, JumpJGT, JumpJGE, JumpJSET}
	k := func() uint32 {
		if r.IntN(2) == 0 {
			return uint32(r.IntN(64))
		}
		return r.Uint32()
	}
	for len(prog) < n-1 {
		left := n - 1 - len(prog) // instructions after this one, the final ret included
		var ins Instruction
		switch r.IntN(13) {
		case 0:
			ins = LoadAbs(uint32(4 * r.IntN(16)))
		case 1:
			ins = Instruction{Op: ClassLD | ModeIMM, K: k()}
		case 2:
			ins = Instruction{Op: ClassLDX | ModeIMM, K: k()}
		case 3:
			ins = Instruction{Op: []uint16{ClassLD | SizeW | ModeLEN, ClassLDX | SizeW | ModeLEN, ClassMISC | MiscTAX, ClassMISC | MiscTXA, ClassALU | AluNEG}[r.IntN(5)]}
		case 4:
			if !useMem {
				continue
			}
			ins = Instruction{Op: []uint16{ClassLD | ModeMEM, ClassLDX | ModeMEM, ClassST, ClassSTX}[r.IntN(4)], K: uint32(r.IntN(16))}
		case 5, 6:
			op := aluK[r.IntN(len(aluK))]
			if r.IntN(2) == 0 {
				ins = Instruction{Op: ClassALU | op | SrcX}
				break
			}
			kk := k()
			switch op {
			case AluDIV:
				kk |= 1
			case AluLSH, AluRSH:
				kk %= 32
			}
			ins = Instruction{Op: ClassALU | op | SrcK, K: kk}
		case 7, 8, 9:
			src := SrcK
			if r.IntN(4) == 0 {
				src = SrcX
			}
			ins = Instruction{Op: ClassJMP | jumps[r.IntN(len(jumps))] | src, K: k(),
				Jt: uint8(r.IntN(min(left, 256))), Jf: uint8(r.IntN(min(left, 256)))}
		case 10:
			ins = JumpAlways(uint32(r.IntN(left)))
		case 11:
			ins = Ret(k())
		case 12:
			ins = Instruction{Op: ClassRET | RetA}
		}
		prog = append(prog, ins)
	}
	if r.IntN(2) == 0 {
		return append(prog, Ret(k()))
	}
	return append(prog, Instruction{Op: ClassRET | RetA})
}
