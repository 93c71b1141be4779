package bpf

import (
	"encoding/binary"
	"slices"
	"testing"
)

// FuzzAssembleRoundTrip treats the input as struct sock_filter bytes. For
// any program: the interpreter and ConstAllow never panic, and the
// disassembly assembles back to the canonical program. For a program
// Validate accepts: the interpreter never fails, and a pair ConstAllow
// caches is allowed whatever the arguments.
func FuzzAssembleRoundTrip(f *testing.F) {
	seed := func(text string) {
		prog, err := Assemble(text)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(Marshal(prog, binary.LittleEndian), []byte("input"))
	}
	seed("ret #0x7fff0000")
	seed("ld [4]\njeq #0xc000003e, 0, 2\nld [0]\njeq #1, 1, 0\nret #0\nret #0x7fff0000")
	seed("ld [16]\nst M[0]\nldx M[0]\ndiv x\nlsh x\nret a")
	seed("ld [0]\nand #0xf0\njset #0x10, 0, 1\nja 1\nret #1\nret #2")
	seed("mod #3\nldh [1]\nraw 0xff, 1, 2, 3\nret x")
	f.Fuzz(func(t *testing.T, code, input []byte) {
		code = code[:len(code)/8*8]
		if len(code) > 8*MaxInstructions {
			return
		}
		prog, err := Unmarshal(code, binary.LittleEndian)
		if err != nil {
			t.Fatal(err)
		}
		var data [SeccompDataSize]byte
		copy(data[:], input)
		valid := Validate(prog) == nil
		for _, order := range []ByteOrder{binary.LittleEndian, binary.BigEndian} {
			res, err := Run(prog, data[:], order)
			if valid && err != nil {
				t.Fatalf("valid program failed to run: %v\n%s", err, Disassemble(prog, DisasmOptions{}))
			}
			if err == nil && (res.Executed < 1 || res.Executed > len(prog)) {
				t.Fatalf("executed %d of %d", res.Executed, len(prog))
			}
			d := SeccompData{Nr: order.Uint32(data[0:]), Arch: order.Uint32(data[4:])}
			if valid && ConstAllow(prog, d.Arch, d.Nr, order) {
				res, _ := Run(prog, data[:], order)
				if res.Ret != SeccompRetAllow {
					t.Fatalf("ConstAllow claims ALLOW, input gives %#x\n%s", res.Ret, Disassemble(prog, DisasmOptions{}))
				}
			}
		}
		if len(prog) == 0 {
			return
		}
		text := Disassemble(prog, DisasmOptions{Order: binary.LittleEndian})
		back, err := Assemble(text)
		if err != nil {
			t.Fatalf("disassembly does not assemble: %v\n%s", err, text)
		}
		if !slices.Equal(back, Canonical(prog)) {
			t.Fatalf("round trip changed the program:\n%s\nbecame\n%s", text, Disassemble(back, DisasmOptions{}))
		}
		if valid && Validate(back) != nil {
			t.Fatalf("canonical form of a valid program is invalid: %v", Validate(back))
		}
	})
}
