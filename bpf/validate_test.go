package bpf

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		text string // assembled with lines labelled L0, L1, ...
		prog []Instruction
		pc   int    // with msg: the error's pc
		msg  string // "" means valid
	}{
		{name: "minimal", text: "ret #0"},
		{name: "ret a", text: "ret a"},
		{name: "every seccomp opcode", text: `
			ld [0]
			ld #1
			ld #len
			ldx #2
			ldx #len
			st M[0]
			stx M[1]
			ld M[0]
			ldx M[1]
			add #1
			add x
			sub #1
			sub x
			mul #3
			mul x
			div #3
			div x
			and #1
			and x
			or #1
			or x
			xor #1
			xor x
			lsh #31
			lsh x
			rsh #31
			rsh x
			neg
			tax
			txa
			ja L31
			jeq #1, L32, L32
			jeq x, L33, L33
			jgt #1, L34, L34
			jgt x, L35, L35
			jge #1, L36, L36
			jge x, L37, L37
			jset #1, L38, L38
			jset x, L39, L39
			ret #0
			ret a`},
		{name: "unreachable code is still checked", text: "ret #0\nld [7]\nret #1", pc: 1, msg: "not 4-byte aligned"},
		{name: "dead code after ret is accepted", text: "ret #0\nld #1\nret a"},
		{name: "empty", prog: []Instruction{}, pc: -1, msg: "empty program"},
		{name: "too long", prog: func() []Instruction {
			p := make([]Instruction, MaxInstructions+1)
			for i := range p {
				p[i] = Ret(0)
			}
			return p
		}(), pc: -1, msg: "4097 instructions"},
		{name: "4096 is fine", prog: func() []Instruction {
			p := make([]Instruction, MaxInstructions)
			for i := range p {
				p[i] = Ret(0)
			}
			return p
		}()},
		{name: "last is not ret", text: "ret #0\nld [0]", pc: 1, msg: "must be ret"},
		{name: "unknown opcode", prog: []Instruction{{Op: 0x1234}, Ret(0)}, pc: 0, msg: "unknown opcode 0x1234"},
		{name: "ret x", prog: []Instruction{{Op: ClassRET | 0x08}}, pc: 0, msg: "ret x"},
		{name: "stray bit on ld imm", prog: []Instruction{{Op: ClassLD | SizeH | ModeIMM}, Ret(0)}, pc: 0, msg: "unknown opcode 0x8"},
		{name: "ldh", text: "ldh [0]\nret #0", pc: 0, msg: "only 32-bit words"},
		{name: "ldb", text: "ldb [0]\nret #0", pc: 0, msg: "only 32-bit words"},
		{name: "ld ind", text: "ld [x + 0]\nret #0", pc: 0, msg: "indirect"},
		{name: "ldxb msh", text: "ldxb 4*([0]&0xf)\nret #0", pc: 0, msg: "msh"},
		{name: "mod k", text: "mod #3\nret #0", pc: 0, msg: "mod is not allowed"},
		{name: "mod x", text: "mod x\nret #0", pc: 0, msg: "mod is not allowed"},
		{name: "load offset 64", text: "ld [64]\nret #0", pc: 0, msg: "past struct seccomp_data"},
		{name: "ancillary load", prog: []Instruction{LoadAbs(0xfffff000), Ret(0)}, pc: 0, msg: "past struct seccomp_data"},
		{name: "misaligned load", text: "ld [6]\nret #0", pc: 0, msg: "not 4-byte aligned"},
		{name: "div by zero", text: "div #0\nret #0", pc: 0, msg: "constant zero"},
		{name: "mod by zero is a classic error first", text: "ret #1\nmod #0\nret #0", pc: 1, msg: "constant zero"},
		{name: "lsh 32", text: "lsh #32\nret #0", pc: 0, msg: "shift by 32"},
		{name: "rsh 32", text: "rsh #32\nret #0", pc: 0, msg: "shift by 32"},
		{name: "scratch index", text: "st M[16]\nret #0", pc: 0, msg: "M[16]"},
		{name: "ja to the end", prog: []Instruction{JumpAlways(1), Ret(0)}, pc: 0, msg: "jump to pc 2"},
		{name: "jt past end", prog: []Instruction{JumpIf(JumpJEQ, 0, 1, 0), Ret(0)}, pc: 0, msg: "true branch jumps to pc 2"},
		{name: "jf past end", prog: []Instruction{JumpIf(JumpJEQ, 0, 0, 9), Ret(0)}, pc: 0, msg: "false branch jumps to pc 10"},
		{name: "read before write", text: "ld M[0]\nret #0", pc: 0, msg: "may read M[0]"},
		{name: "written on one branch only", text: `
			ld [0]
			jeq #1, L2, L3
			st M[0]
			ld M[0]
			ret a`, pc: 3, msg: "may read M[0]"},
		{name: "written on both branches", text: `
			ld [0]
			jeq #1, L2, L4
			st M[5]
			ja L5
			st M[5]
			ld M[5]
			ret a`},
		// check_load_and_stores lets what was known before a ret flow into
		// the instruction after it, so a cell written only on the jump
		// path into L4 counts as unwritten: the kernel refuses this
		// program although no run can read M[0] unwritten.
		{name: "kernel quirk: fall-through from ret", text: `
			jeq #1, L1, L3
			st M[0]
			ja L4
			ret #0
			ld M[0]
			ret a`, pc: 4, msg: "may read M[0]"},
		// ... and the same quirk accepts a read in dead code.
		{name: "kernel quirk: dead read after store", text: `
			st M[0]
			ret #0
			ld M[0]
			ret a`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog := tt.prog
			if tt.text != "" {
				prog = mustAsmPC(t, tt.text)
			}
			err := Validate(prog)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("Validate: %v\n%s", err, Disassemble(prog, DisasmOptions{}))
				}
				return
			}
			var pe *ProgramError
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidProgram) {
				t.Fatalf("got %v, want a *ProgramError\n%s", err, Disassemble(prog, DisasmOptions{}))
			}
			if pe.PC != tt.pc || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("got %q (pc %d), want pc %d containing %q", err, pe.PC, tt.pc, tt.msg)
			}
		})
	}
}

func TestValidateNamesPC(t *testing.T) {
	err := Validate([]Instruction{LoadAbs(0), LoadAbs(3), Ret(0)})
	if got, want := err.Error(), "pc 1: ld [3] is not 4-byte aligned"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReachable(t *testing.T) {
	prog := mustAsmPC(t, `
		ld [0]
		jeq #1, L3, L4
		ld [4]
		ret #1
		ja L6
		ret #2
		ret #3`)
	got := Reachable(prog)
	want := []bool{true, true, false, true, true, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("pc %d: reachable %v, want %v", i, got[i], want[i])
		}
	}
}

// The random program generator exercises every opcode and must only make
// valid programs; Validate must also refuse every single-instruction
// corruption the kernel would.
func TestValidateRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		prog := randomValidProgram(r, 2+r.IntN(100))
		if err := Validate(prog); err != nil {
			t.Fatalf("%v\n%s", err, Disassemble(prog, DisasmOptions{}))
		}
		// Corrupt one opcode into something seccomp refuses.
		bad := append([]Instruction(nil), prog...)
		pc := r.IntN(len(bad))
		bad[pc].Op = []uint16{ClassLD | SizeH | ModeABS, ClassALU | AluMOD | SrcX, 0xff, ClassRET | 0x08}[r.IntN(4)]
		if err := Validate(bad); err == nil {
			t.Fatalf("corrupted pc %d accepted\n%s", pc, Disassemble(bad, DisasmOptions{}))
		}
	}
}
