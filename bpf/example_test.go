package bpf_test

import (
	"encoding/binary"
	"fmt"

	"github.com/sysgate/sysgate/bpf"
)

// A filter for x86_64 that allows read (0) and write (1) to fd 1 or 2,
// fails everything else with EPERM and kills other architectures.
const exampleFilter = `
	ld [4]                      ; arch
	jeq #0xc000003e, 0, kill
	ld [0]                      ; nr
	jeq #0, allow, 0
	jeq #1, 0, deny
	ld [16]                     ; arg0 low
	jge #1, 0, deny
	jgt #2, deny, allow
allow:	ret #0x7fff0000
deny:	ret #0x50001
kill:	ret #0x80000000
`

func ExampleRun() {
	prog, err := bpf.Assemble(exampleFilter)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := bpf.Validate(prog); err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range []bpf.SeccompData{
		{Arch: 0xc000003e, Nr: 0},
		{Arch: 0xc000003e, Nr: 1, Args: [6]uint64{2}},
		{Arch: 0xc000003e, Nr: 1, Args: [6]uint64{5}},
		{Arch: 0x40000003, Nr: 0},
	} {
		res, err := bpf.RunSeccomp(prog, d, binary.LittleEndian)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("nr %d arg0 %d: %#x after %d instructions\n", d.Nr, d.Args[0], res.Ret, res.Executed)
	}
	// Output:
	// nr 0 arg0 0: 0x7fff0000 after 5 instructions
	// nr 1 arg0 2: 0x7fff0000 after 9 instructions
	// nr 1 arg0 5: 0x50001 after 9 instructions
	// nr 0 arg0 0: 0x80000000 after 3 instructions
}

func ExampleDisassemble() {
	prog, _ := bpf.Assemble(exampleFilter)
	fmt.Print(bpf.Disassemble(prog, bpf.DisasmOptions{
		Order: binary.LittleEndian,
		Annotate: func(pc int, ins bpf.Instruction) string {
			if ins.Op == bpf.ClassRET|bpf.RetK && ins.K == bpf.SeccompRetAllow {
				return "allow"
			}
			return ""
		},
	}))
	// Output:
	// L0:  ld [4]                         ; arch
	// L1:  jeq #0xc000003e, L2, L10
	// L2:  ld [0]                         ; nr
	// L3:  jeq #0x0, L8, L4
	// L4:  jeq #0x1, L5, L9
	// L5:  ld [16]                        ; arg0 low
	// L6:  jge #0x1, L7, L9
	// L7:  jgt #0x2, L9, L8
	// L8:  ret #0x7fff0000                ; allow
	// L9:  ret #0x50001
	// L10: ret #0x80000000
}

func ExampleConstAllow() {
	prog, _ := bpf.Assemble(exampleFilter)
	for _, nr := range []uint32{0, 1, 2} {
		fmt.Printf("nr %d cacheable: %v\n", nr, bpf.ConstAllow(prog, 0xc000003e, nr, binary.LittleEndian))
	}
	// Output:
	// nr 0 cacheable: true
	// nr 1 cacheable: false
	// nr 2 cacheable: false
}

func ExampleInstruction_String() {
	fmt.Println(bpf.LoadAbs(bpf.OffsetNr))
	fmt.Println(bpf.JumpIf(bpf.JumpJEQ, 59, 0, 3))
	fmt.Println(bpf.Ret(bpf.SeccompRetAllow))
	// Output:
	// ld [0]
	// jeq #0x3b, 0, 3
	// ret #0x7fff0000
}

func ExampleValidate() {
	prog := []bpf.Instruction{bpf.LoadAbs(bpf.OffsetNr), bpf.LoadAbs(66), bpf.Ret(0)}
	fmt.Println(bpf.Validate(prog))
	// Output:
	// pc 1: ld [66] reads past struct seccomp_data (64 bytes)
}
