package bpf

import (
	"math/rand/v2"
	"testing"
)

func TestConstAllow(t *testing.T) {
	// A typical filter: arch check, then syscalls decided by number, one
	// of them by its argument.
	filter := mustAsm(t, `
		ld [4]                       ; arch
		jeq #0xc000003e, 0, kill
		ld [0]                       ; nr
		jeq #0, allow, 0             ; read
		jeq #1, args, 0              ; write: look at fd
		jgt #400, deny, 0
		jset #0x40000000, kill, 0    ; x32
		and #0xfff0
		jeq #0x10, allow, deny       ; 16..31 allowed
	args:	ld [16]
		jeq #1, allow, deny
	allow:	ret #0x7fff0000
	deny:	ret #0x50001
	kill:	ret #0x80000000`)
	tests := []struct {
		name     string
		prog     []Instruction
		arch, nr uint32
		want     bool
	}{
		{"allowed by number", filter, auditArchX86_64, 0, true},
		{"decided by an argument", filter, auditArchX86_64, 1, false},
		{"denied", filter, auditArchX86_64, 2, false},
		{"jgt", filter, auditArchX86_64, 401, false},
		{"jset", filter, auditArchX86_64, 0x40000010, false},
		{"and", filter, auditArchX86_64, 17, true},
		{"and outside the range", filter, auditArchX86_64, 32, false},
		{"other arch", filter, 0x40000003, 0, false},
		{"ja", mustAsm(t, "ja 1\nret #0\nret #0x7fff0000"), 0, 0, true},
		{"jge", mustAsm(t, "ld [0]\njge #5, 0, 1\nret #0x7fff0000\nret #0"), 0, 5, true},
		{"ret allow with data bits is not allow", mustAsm(t, "ret #0x7fff0001"), 0, 0, false},
		{"ret a", mustAsm(t, "ld #0x7fff0000\nret a"), 0, 0, false},
		{"ld imm is not followed", mustAsm(t, "ld #0\nret #0x7fff0000"), 0, 0, false},
		{"instruction pointer", mustAsm(t, "ld [8]\nret #0x7fff0000"), 0, 0, false},
		{"jump on x", mustAsm(t, "ld [0]\njeq x, 0, 0\nret #0x7fff0000"), 0, 0, false},
		{"tax", mustAsm(t, "tax\nret #0x7fff0000"), 0, 0, false},
		{"or", mustAsm(t, "or #1\nret #0x7fff0000"), 0, 0, false},
		{"runs off the end", []Instruction{LoadAbs(0)}, 0, 0, false},
		{"jumps off the end", []Instruction{JumpAlways(0xffffffff), Ret(SeccompRetAllow)}, 0, 0, false},
		{"empty", nil, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ConstAllow(tt.prog, tt.arch, tt.nr, le); got != tt.want {
				t.Errorf("ConstAllow(arch %#x, nr %d) = %v, want %v\n%s", tt.arch, tt.nr, got, tt.want,
					Disassemble(tt.prog, DisasmOptions{Order: le}))
			}
		})
	}
}

// randomCacheProgram mixes the instructions the cache understands with a
// few it does not.
func randomCacheProgram(r *rand.Rand, n int) []Instruction {
	var prog []Instruction
	for len(prog) < n-1 {
		left := n - 1 - len(prog)
		var ins Instruction
		switch r.IntN(12) {
		case 0, 1:
			ins = LoadAbs(uint32(4 * r.IntN(2)))
		case 2:
			ins = LoadAbs(uint32(4 * r.IntN(16))) // sometimes an argument
		case 3, 4, 5, 6:
			op := []uint16{JumpJEQ, JumpJGT, JumpJGE, JumpJSET}[r.IntN(4)]
			ins = JumpIf(op, uint32(r.IntN(8)), uint8(r.IntN(min(left, 256))), uint8(r.IntN(min(left, 256))))
		case 7:
			ins = JumpAlways(uint32(r.IntN(left)))
		case 8:
			ins = AndK(uint32(r.IntN(8)))
		case 9:
			ins = Ret([]uint32{SeccompRetAllow, 0, 0x50001}[r.IntN(3)])
		case 10:
			ins = Instruction{Op: ClassLD | ModeIMM, K: uint32(r.IntN(8))}
		case 11:
			ins = Instruction{Op: ClassRET | RetA}
		}
		prog = append(prog, ins)
	}
	return append(prog, Ret([]uint32{SeccompRetAllow, 0}[r.IntN(2)]))
}

// ConstAllow must never claim ALLOW for a pair some input denies; and for
// programs that never look past nr and arch it must be exact.
func TestConstAllowAgainstInterpreter(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 3000 {
		prog := randomCacheProgram(r, 2+r.IntN(30))
		if err := Validate(prog); err != nil {
			t.Fatalf("generator: %v", err)
		}
		constOnly := true
		for _, ins := range prog {
			if ins.Op == ClassLD|SizeW|ModeABS && ins.K > 4 || ins.Op == ClassLD|ModeIMM || ins.Op == ClassRET|RetA {
				constOnly = false
			}
		}
		for range 4 {
			d := randomSeccompData(r)
			d.Arch, d.Nr = uint32(r.IntN(8)), uint32(r.IntN(8))
			cached := ConstAllow(prog, d.Arch, d.Nr, le)
			res, err := RunSeccomp(prog, d, le)
			if err != nil {
				t.Fatal(err)
			}
			allowed := res.Ret == SeccompRetAllow
			if cached && !allowed || constOnly && cached != allowed {
				t.Fatalf("arch %d nr %d: ConstAllow %v, interpreter returns %#x\n%s",
					d.Arch, d.Nr, cached, res.Ret, Disassemble(prog, DisasmOptions{Order: le}))
			}
		}
	}
}
