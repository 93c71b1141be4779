package bpf

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestInstructionString(t *testing.T) {
	tests := []struct {
		ins  Instruction
		want string
	}{
		{LoadAbs(4), "ld [4]"},
		{Instruction{Op: ClassLD | SizeH | ModeABS, K: 2}, "ldh [2]"},
		{Instruction{Op: ClassLD | SizeB | ModeABS, K: 1}, "ldb [1]"},
		{Instruction{Op: ClassLD | SizeW | ModeIND, K: 8}, "ld [x + 8]"},
		{Instruction{Op: ClassLD | SizeH | ModeIND, K: 8}, "ldh [x + 8]"},
		{Instruction{Op: ClassLD | SizeB | ModeIND, K: 8}, "ldb [x + 8]"},
		{Instruction{Op: ClassLD | ModeIMM, K: 42}, "ld #0x2a"},
		{Instruction{Op: ClassLDX | ModeIMM, K: 0}, "ldx #0x0"},
		{Instruction{Op: ClassLD | ModeMEM, K: 3}, "ld M[3]"},
		{Instruction{Op: ClassLDX | ModeMEM, K: 15}, "ldx M[15]"},
		{Instruction{Op: ClassLD | SizeW | ModeLEN, K: 99}, "ld #len"},
		{Instruction{Op: ClassLDX | SizeW | ModeLEN}, "ldx #len"},
		{Instruction{Op: ClassLDX | SizeB | ModeMSH, K: 14}, "ldxb 4*([14]&0xf)"},
		{Instruction{Op: ClassST, K: 1}, "st M[1]"},
		{Instruction{Op: ClassSTX, K: 2}, "stx M[2]"},
		{AndK(0xff), "and #0xff"},
		{Instruction{Op: ClassALU | AluADD | SrcX, K: 7}, "add x"},
		{Instruction{Op: ClassALU | AluMOD | SrcK, K: 3}, "mod #0x3"},
		{Instruction{Op: ClassALU | AluNEG}, "neg"},
		{JumpAlways(5), "ja 5"},
		{JumpIf(JumpJEQ, 0xc000003e, 0, 3), "jeq #0xc000003e, 0, 3"},
		{Instruction{Op: ClassJMP | JumpJSET | SrcX, Jt: 1, Jf: 2}, "jset x, 1, 2"},
		{Ret(0x7fff0000), "ret #0x7fff0000"},
		{Instruction{Op: ClassRET | RetA, K: 5}, "ret a"},
		{Instruction{Op: ClassRET | 0x08}, "ret x"},
		{Instruction{Op: ClassMISC | MiscTAX}, "tax"},
		{Instruction{Op: ClassMISC | MiscTXA}, "txa"},
		{Instruction{Op: 0xff, Jt: 1, Jf: 2, K: 3}, "raw 0xff, 1, 2, 0x3"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.ins.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			back, err := Assemble(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if len(back) != 1 || back[0] != tt.ins.Canonical() {
				t.Errorf("Assemble(%q) = %+v, want %+v", tt.want, back, tt.ins.Canonical())
			}
		})
	}
}

// Every one of the 65536 opcodes, with all fields set, survives String and
// Assemble up to Canonical.
func TestStringRoundTripAllOpcodes(t *testing.T) {
	for op := range 1 << 16 {
		ins := Instruction{Op: uint16(op), Jt: 3, Jf: 250, K: 0xdeadbeef}
		back, err := Assemble(ins.String())
		if err != nil {
			t.Fatalf("op %#x: %q: %v", op, ins.String(), err)
		}
		if back[0] != ins.Canonical() {
			t.Fatalf("op %#x: %q assembles to %+v, want %+v", op, ins.String(), back[0], ins.Canonical())
		}
	}
}

func TestAssembleSyntax(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []Instruction
	}{
		{"case-insensitive mnemonics", "LD [4]\nRet #0", []Instruction{LoadAbs(4), Ret(0)}},
		{"numbers", "ld #10\nld #0x10\nld #010\nld #0b10\nld #-1",
			[]Instruction{{K: 10}, {K: 16}, {K: 8}, {K: 2}, {K: 0xffffffff}}},
		{"percent registers", "add %x\nret %a\njeq %x, 0, 0",
			[]Instruction{{Op: ClassALU | SrcX}, {Op: ClassRET | RetA}, {Op: ClassJMP | JumpJEQ | SrcX}}},
		{"ld len without #", "ld len\nldx len", []Instruction{{Op: ClassLD | ModeLEN}, {Op: ClassLDX | ModeLEN}}},
		{"ldi ldxi", "ldi #3\nldxi 4", []Instruction{{Op: ClassLD, K: 3}, {Op: ClassLDX, K: 4}}},
		{"ldx msh", "ldx 4*([14]&0xf)", []Instruction{{Op: ClassLDX | SizeB | ModeMSH, K: 14}}},
		{"spacing", "ld [ x+4 ]\njeq #1,0,1", []Instruction{{Op: ClassLD | ModeIND, K: 4}, JumpIf(JumpJEQ, 1, 0, 1)}},
		{"comments", "; header\n# also a comment\nld [0] ; nr\n\n  ret #0 ;; end",
			[]Instruction{LoadAbs(0), Ret(0)}},
		{"labels", "start: ld [0]\njeq #1, yes, no\nyes: ret #1\nno: ret #0",
			[]Instruction{LoadAbs(0), JumpIf(JumpJEQ, 1, 0, 1), Ret(1), Ret(0)}},
		{"label on its own line", "ja end\nret #1\nend:\n\nret #2",
			[]Instruction{JumpAlways(1), Ret(1), Ret(2)}},
		{"two labels for one instruction", "ja b\na: b: ret #0", []Instruction{JumpAlways(0), Ret(0)}},
		{"one target means fall through on false", "jeq #1, t\nret #0\nt: ret #1",
			[]Instruction{JumpIf(JumpJEQ, 1, 1, 0), Ret(0), Ret(1)}},
		{"jne", "jne #1, t\nret #0\nt: ret #1", []Instruction{JumpIf(JumpJEQ, 1, 0, 1), Ret(0), Ret(1)}},
		{"jneq x", "jneq x, t\nt: ret #1", []Instruction{{Op: ClassJMP | JumpJEQ | SrcX}, Ret(1)}},
		{"jlt", "jlt #5, t\nret #0\nt: ret #1", []Instruction{JumpIf(JumpJGE, 5, 0, 1), Ret(0), Ret(1)}},
		{"jle", "jle #5, t\nret #0\nt: ret #1", []Instruction{JumpIf(JumpJGT, 5, 0, 1), Ret(0), Ret(1)}},
		{"jmp", "jmp t\nt: ret #1", []Instruction{JumpAlways(0), Ret(1)}},
		{"far ja", "ja end\n" + strings.Repeat("ret #0\n", 300) + "end: ret #1",
			append(append([]Instruction{JumpAlways(300)}, slices.Repeat([]Instruction{Ret(0)}, 300)...), Ret(1))},
		{"raw", "raw 0x15, 1, 2, 0x3b", []Instruction{JumpIf(JumpJEQ, 0x3b, 1, 2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Assemble(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", Disassemble(got, DisasmOptions{}), Disassemble(tt.want, DisasmOptions{}))
			}
		})
	}
}

func TestAssembleErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		line int
		msg  string
	}{
		{"empty", "", 1, "no instructions"},
		{"only comments", "; nothing\n", 1, "no instructions"},
		{"unknown mnemonic", "ld [0]\nfoo #1", 2, "unknown instruction foo"},
		{"bad character", "ld [0]\nld @", 2, "unexpected character '@'"},
		{"number too big", "ld #0x100000000", 1, "must fit in 32 bits"},
		{"negative too small", "ld #-2147483649", 1, "below -2147483648"},
		{"bad octal", "ld #09", 1, "bad number 09"},
		{"trailing tokens", "ret #0 #1", 1, "unexpected \"#\" after the instruction"},
		{"missing operand", "add", 1, "expected #k or x"},
		{"missing bracket", "ld [4", 1, "expected \"]\""},
		{"ldh imm", "ldh #4", 1, "ldh takes [k]"},
		{"bad msh", "ldxb 2*([14]&0xf)", 1, "ldxb takes 4*([k]&0xf)"},
		{"no such label", "ja nowhere\nret #0", 1, "no such label nowhere"},
		{"backward label", "top: ld [0]\nja top\nret #0", 2, "only forward"},
		{"duplicate label", "a: ld [0]\na: ret #0", 2, "already defined on line 1"},
		{"dangling label", "ret #0\nend:", 2, "label end names no instruction"},
		{"conditional too far", "jeq #1, end, 0\n" + strings.Repeat("ret #0\n", 256) + "end: ret #1", 1, "reaches 255"},
		{"numeric jt too big", "jeq #1, 256, 0\nret #0", 1, "does not fit in 8 bits"},
		{"raw out of range", "raw 0x10000, 0, 0, 0", 1, "out of range"},
		{"ancillary loads are not supported", "ld #proto\nret a", 1, "expected a number"},
		{"too many", strings.Repeat("ret #0\n", MaxInstructions+1), MaxInstructions + 1, "more than 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Assemble(tt.text)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *SyntaxError", err)
			}
			if se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("got %q, want line %d containing %q", err, tt.line, tt.msg)
			}
		})
	}
}

func TestDisassemble(t *testing.T) {
	prog := []Instruction{
		LoadAbs(OffsetArch),
		JumpIf(JumpJEQ, auditArchX86_64, 0, 3),
		LoadAbs(ArgHigh(2, be)),
		JumpIf(JumpJEQ, 0, 0, 1),
		Ret(SeccompRetAllow),
		Ret(0),
	}
	want := `L0: ld [4]                         ; arch
L1: jeq #0xc000003e, L2, L5
L2: ld [32]                        ; arg2 high
L3: jeq #0x0, L4, L5
L4: ret #0x7fff0000                ; verdict
L5: ret #0x0                       ; verdict
`
	got := Disassemble(prog, DisasmOptions{Order: be, Annotate: func(pc int, ins Instruction) string {
		if ins.Class() == ClassRET {
			return "verdict"
		}
		return ""
	}})
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	plain := Disassemble(prog, DisasmOptions{})
	if strings.Contains(plain, ";") {
		t.Errorf("no options, yet comments:\n%s", plain)
	}
}

func TestFieldName(t *testing.T) {
	tests := []struct {
		off   uint32
		order ByteOrder
		want  string
	}{
		{0, le, "nr"}, {4, be, "arch"},
		{8, le, "ip low"}, {12, le, "ip high"}, {8, be, "ip high"}, {12, be, "ip low"},
		{16, le, "arg0 low"}, {20, le, "arg0 high"}, {16, be, "arg0 high"}, {60, be, "arg5 low"},
		{ArgLow(3, le), le, "arg3 low"}, {ArgLow(3, be), be, "arg3 low"},
		{ArgHigh(4, le), le, "arg4 high"}, {ArgHigh(4, be), be, "arg4 high"},
		{IPLow(be), be, "ip low"}, {IPHigh(le), le, "ip high"},
		{2, le, ""}, {64, le, ""},
	}
	for _, tt := range tests {
		if got := FieldName(tt.off, tt.order); got != tt.want {
			t.Errorf("FieldName(%d, %v) = %q, want %q", tt.off, tt.order, got, tt.want)
		}
	}
}

func TestDisassembleRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		prog := randomValidProgram(r, 2+r.IntN(400))
		// Garbage in the fields the opcodes ignore.
		for i := range prog {
			if r.IntN(4) == 0 {
				in := info(prog[i].Op)
				if in&useJ == 0 {
					prog[i].Jt, prog[i].Jf = uint8(r.Uint32()), uint8(r.Uint32())
				}
				if in&useK == 0 {
					prog[i].K = r.Uint32()
				}
			}
		}
		if err := Validate(prog); err != nil {
			t.Fatalf("kernel ignores unused fields, Validate must too: %v", err)
		}
		text := Disassemble(prog, DisasmOptions{Order: le})
		back, err := Assemble(text)
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		if !slices.Equal(back, Canonical(prog)) {
			t.Fatalf("round trip changed the program:\n%s\n%s", text, Disassemble(back, DisasmOptions{}))
		}
	}
}
