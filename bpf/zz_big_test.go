package bpf
import ("testing";"math/rand/v2")
func BenchmarkRoundTripBig(b *testing.B) {
	r := rand.New(rand.NewPCG(1,1))
	prog := randomValidProgram(r, 4096)
	for b.Loop() {
		text := Disassemble(prog, DisasmOptions{Order: le})
		if _, err := Assemble(text); err != nil { b.Fatal(err) }
		Validate(prog)
	}
}
