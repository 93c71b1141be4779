package bpf

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	d := SeccompData{
		Nr: 59, Arch: auditArchX86_64, InstructionPointer: 0x1122334455667788,
		Args: [6]uint64{0xaaaabbbbccccdddd, 1, 2, 3, 4, 0xffffffff00000005},
	}
	tests := []struct {
		name     string
		order    ByteOrder
		text     string
		want     uint32
		executed int
	}{
		{"nr", le, "ld [0]\nret a", 59, 2},
		{"arch", le, "ld [4]\nret a", auditArchX86_64, 2},
		{"ip low little-endian", le, "ld [8]\nret a", 0x55667788, 2},
		{"ip high little-endian", le, "ld [12]\nret a", 0x11223344, 2},
		{"ip low big-endian", be, "ld [12]\nret a", 0x55667788, 2},
		{"ip high big-endian", be, "ld [8]\nret a", 0x11223344, 2},
		{"arg0 low", le, "ld [16]\nret a", 0xccccdddd, 2},
		{"arg5 high", le, "ld [60]\nret a", 0xffffffff, 2},
		{"nr big-endian", be, "ld [0]\nret a", 59, 2},
		{"ret k", le, "ret #0x7fff0000", 0x7fff0000, 1},
		{"ld imm", le, "ld #0x1234\nret a", 0x1234, 2},
		{"ld len", le, "ld #len\nret a", 64, 2},
		{"ldx len", le, "ldx #len\ntxa\nret a", 64, 3},
		{"tax txa", le, "ld #7\ntax\nld #1\ntxa\nret a", 7, 5},
		{"scratch", le, "ld #5\nst M[3]\nldx #9\nstx M[15]\nld M[15]\nldx M[3]\nadd x\nret a", 14, 8},
		{"add k", le, "ld #0xffffffff\nadd #2\nret a", 1, 3},
		{"sub x", le, "ld #1\nldx #2\nsub x\nret a", 0xffffffff, 4},
		{"mul k wraps", le, "ld #0x10000\nmul #0x10000\nret a", 0, 3},
		{"div k", le, "ld #100\ndiv #7\nret a", 14, 3},
		{"div x", le, "ld #100\nldx #10\ndiv x\nret a", 10, 4},
		{"div x by zero returns 0", le, "ld #100\nldx #0\ndiv x\nret #1", 0, 3},
		{"and or xor", le, "ld #0xff\nand #0x0f\nor #0x100\nxor #0x1\nret a", 0x10e, 5},
		{"lsh k", le, "ld #1\nlsh #31\nret a", 0x80000000, 3},
		{"rsh k", le, "ld #0x80000000\nrsh #31\nret a", 1, 3},
		{"lsh x uses low 5 bits", le, "ld #1\nldx #33\nlsh x\nret a", 2, 4},
		{"rsh x uses low 5 bits", le, "ld #8\nldx #34\nrsh x\nret a", 2, 4},
		{"neg", le, "ld #1\nneg\nret a", 0xffffffff, 3},
		{"ja", le, "ja L2\nret #1\nret #2", 2, 2},
		{"jeq true", le, "ld [0]\njeq #59, L2, L3\nret #1\nret #2", 1, 3},
		{"jeq false", le, "ld [0]\njeq #60, L2, L3\nret #1\nret #2", 2, 3},
		{"jgt", le, "ld [0]\njgt #58, L2, L3\nret #1\nret #2", 1, 3},
		{"jgt equal is false", le, "ld [0]\njgt #59, L2, L3\nret #1\nret #2", 2, 3},
		{"jge equal", le, "ld [0]\njge #59, L2, L3\nret #1\nret #2", 1, 3},
		{"jset", le, "ld [0]\njset #0x2, L2, L3\nret #1\nret #2", 1, 3},
		{"jset clear", le, "ld [0]\njset #0x4, L2, L3\nret #1\nret #2", 2, 3},
		{"jeq x", le, "ld [0]\nldx #59\njeq x, L3, L4\nret #1\nret #2", 1, 4},
		{"jgt is unsigned", le, "ld #0xffffffff\njgt #1, L2, L3\nret #1\nret #2", 1, 3},
		{"jt skips", le, "ld #1\njeq #1, 2, 0\nret #1\nret #2\nret #3", 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog := mustAsmPC(t, tt.text)
			got, err := RunSeccomp(prog, d, tt.order)
			if err != nil {
				t.Fatalf("RunSeccomp: %v\n%s", err, Disassemble(prog, DisasmOptions{}))
			}
			if got.Ret != tt.want || got.Executed != tt.executed {
				t.Errorf("got ret %#x after %d instructions, want %#x after %d\n%s",
					got.Ret, got.Executed, tt.want, tt.executed, Disassemble(prog, DisasmOptions{}))
			}
			byBytes, err := Run(prog, d.Bytes(tt.order), tt.order)
			if err != nil || byBytes.Ret != got.Ret || byBytes.Executed != got.Executed {
				t.Errorf("Run over bytes = %+v, %v; RunSeccomp = %+v", byBytes, err, got)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name string
		prog []Instruction
		pc   int
		msg  string
	}{
		{"empty", nil, -1, "empty program"},
		{"too long", make([]Instruction, MaxInstructions+1), -1, "at most 4096"},
		{"runs off the end", []Instruction{LoadAbs(0)}, 0, "runs off its end"},
		{"load past seccomp_data", []Instruction{LoadAbs(64), Ret(0)}, 0, "past struct seccomp_data"},
		{"misaligned load", []Instruction{LoadAbs(2), Ret(0)}, 0, "not 4-byte aligned"},
		{"ldh", []Instruction{{Op: ClassLD | SizeH | ModeABS}, Ret(0)}, 0, "only 32-bit words"},
		{"indirect", []Instruction{{Op: ClassLD | SizeW | ModeIND}, Ret(0)}, 0, "indirect loads"},
		{"mod", []Instruction{{Op: ClassALU | AluMOD | SrcK, K: 3}, Ret(0)}, 0, "mod is not allowed"},
		{"ret x", []Instruction{{Op: ClassRET | 0x08}}, 0, "ret x"},
		{"unknown opcode", []Instruction{{Op: 0xff}}, 0, "unknown opcode 0xff"},
		{"scratch unwritten", []Instruction{{Op: ClassLD | ModeMEM, K: 2}, Ret(0)}, 0, "reads M[2] before any store"},
		{"scratch index", []Instruction{{Op: ClassST, K: 16}, Ret(0)}, 0, "M[16] does not exist"},
		{"ja past end", []Instruction{JumpAlways(1), Ret(0)}, 0, "jump to pc 2"},
		{"ja huge", []Instruction{JumpAlways(0xffffffff), Ret(0)}, 0, "jump to pc 4294967296"},
		{"jeq past end", []Instruction{JumpIf(JumpJEQ, 0, 1, 0), Ret(0)}, 0, "jump to pc 2"},
		{"div by constant zero", []Instruction{{Op: ClassALU | AluDIV | SrcK}, Ret(0)}, 0, "constant zero"},
		{"shift by 32", []Instruction{{Op: ClassALU | AluLSH | SrcK, K: 32}, Ret(0)}, 0, "shift by 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RunSeccomp(tt.prog, SeccompData{}, le)
			var pe *ProgramError
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidProgram) {
				t.Fatalf("got %v, want a *ProgramError", err)
			}
			if pe.PC != tt.pc || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("got pc %d %q, want pc %d containing %q", pe.PC, pe.Msg, tt.pc, tt.msg)
			}
		})
	}
}

func TestRunInputErrors(t *testing.T) {
	prog := []Instruction{Ret(0)}
	if _, err := Run(prog, make([]byte, 63), le); err == nil || !strings.Contains(err.Error(), "63 bytes") {
		t.Errorf("short input: got %v", err)
	}
	if _, err := Run(prog, make([]byte, 64), nil); err == nil {
		t.Error("nil byte order: no error")
	}
	if _, err := RunSeccomp(prog, SeccompData{}, nil); err == nil {
		t.Error("RunSeccomp with nil byte order: no error")
	}
	if _, err := RunCover(prog, make([]byte, 64), le, nil); err == nil {
		t.Error("RunCover with no table: no error")
	}
}

// A byte order that is neither of encoding/binary's takes the generic path.
type customOrder struct{ ByteOrder }

func TestRunSeccompMatchesBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, order := range []ByteOrder{le, be, customOrder{be}} {
		for range 200 {
			prog := randomValidProgram(r, 2+r.IntN(40))
			d := randomSeccompData(r)
			a, errA := RunSeccomp(prog, d, order)
			b, errB := Run(prog, d.Bytes(order), order)
			if errA != nil || errB != nil || a.Ret != b.Ret || a.Executed != b.Executed {
				t.Fatalf("RunSeccomp = %+v, %v; Run = %+v, %v\n%s", a, errA, b, errB, Disassemble(prog, DisasmOptions{}))
			}
		}
	}
}

func TestRunCoverAndTrace(t *testing.T) {
	prog := mustAsm(t, `
		ld [0]
		jeq #1, allow, next
	next:	jeq #2, allow, deny
	deny:	ret #0
	allow:	ret #0x7fff0000`)
	hits := make([]uint32, len(prog))
	for _, nr := range []uint32{1, 2, 3, 3} {
		if _, err := RunSeccompCover(prog, SeccompData{Nr: nr}, le, hits); err != nil {
			t.Fatal(err)
		}
	}
	if want := []uint32{4, 4, 3, 2, 2}; !slices.Equal(hits, want) {
		t.Errorf("hits = %v, want %v", hits, want)
	}
	d := SeccompData{Nr: 2}
	res, err := RunTrace(prog, d.Bytes(le), le)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 2, 4}; !slices.Equal(res.Path, want) || res.Executed != 4 || res.Ret != SeccompRetAllow {
		t.Errorf("trace = %+v, want path %v", res, want)
	}
}

// A program Validate accepts never fails to run, whatever the input.
func TestRunValidNeverFails(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		prog := randomValidProgram(r, 2+r.IntN(300))
		if err := Validate(prog); err != nil {
			t.Fatalf("generator made an invalid program: %v\n%s", err, Disassemble(prog, DisasmOptions{}))
		}
		for range 5 {
			res, err := RunSeccomp(prog, randomSeccompData(r), le)
			if err != nil {
				t.Fatalf("valid program failed: %v\n%s", err, Disassemble(prog, DisasmOptions{}))
			}
			if res.Executed < 1 || res.Executed > len(prog) {
				t.Fatalf("executed %d of %d instructions", res.Executed, len(prog))
			}
		}
	}
}

func TestRunDoesNotAllocate(t *testing.T) {
	prog := mustAsm(t, `
		ld [4]
		jeq #0xc000003e, 0, 4
		ld [0]
		jge #100, 2, 0
		st M[0]
		ret #0x7fff0000
		ret #0`)
	d := SeccompData{Nr: 3, Arch: auditArchX86_64}
	data := d.Bytes(le)
	hits := make([]uint32, len(prog))
	allocs := testing.AllocsPerRun(100, func() {
		RunSeccomp(prog, d, le)
		Run(prog, data, le)
		RunCover(prog, data, le, hits)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run", allocs)
	}
}

func BenchmarkRunSeccomp(b *testing.B) {
	prog := mustAsm(b, `
		ld [4]
		jeq #0xc000003e, 0, 8
		ld [0]
		jge #200, 4, 0
		jge #100, 2, 0
		jeq #59, 4, 0
		jeq #60, 3, 0
		ld [16]
		jeq #1, 1, 0
		ret #0x7fff0000
		ret #0x50001`)
	d := SeccompData{Nr: 60, Arch: auditArchX86_64}
	b.ReportAllocs()
	for b.Loop() {
		RunSeccomp(prog, d, le)
	}
}
