package filter

import (
	"math/rand/v2"
	"testing"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/syscalls"
)

// FuzzCompile generates a random policy from the fuzzer's seed, compiles
// it, and checks the program against the policy interpreter on every
// syscall number and on argument vectors built from the policy's
// constants: go test -fuzz FuzzCompile ./filter/
func FuzzCompile(f *testing.F) {
	for i := range uint64(8) {
		f.Add(i, i*7919)
	}
	f.Fuzz(func(t *testing.T, s1, s2 uint64) {
		r := rand.New(rand.NewPCG(s1, s2))
		p := randPolicy(r)
		prog, err := Compile(p, syscalls.X86_64, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := bpf.Validate(prog.Instructions); err != nil {
			t.Fatalf("invalid program: %v\n%s", err, Disassemble(prog))
		}
		argv := argVectors(p, r)
		if len(argv) > 12 {
			argv = argv[:12]
		}
		checkAgainstOracle(t, p, prog, argv)
	})
}
