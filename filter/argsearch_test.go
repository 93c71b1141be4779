package filter

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/syscalls"
)

// randIntervalExpr is a random condition on one argument made of the
// comparisons argIntervals turns into a search: ==, !=, <, <=, >, >= and
// & with a mask of high bits.
func randIntervalExpr(r *rand.Rand, arg, depth int) *policy.Expr {
	if depth == 0 || r.IntN(3) == 0 {
		op := policy.Op(r.IntN(int(policy.MaskedEq) + 1))
		c := policy.Cmp{Arg: arg, Op: op, Value: randValue(r)}
		if op == policy.MaskedEq {
			c.Mask = ^uint64(0) << r.IntN(65) // 0..64 low bits free
			if r.IntN(4) != 0 {
				c.Value &= c.Mask
			}
		}
		x := &policy.Expr{Kind: policy.ExprCmp, Cmp: c}
		if op == policy.MaskedEq && r.IntN(4) == 0 {
			x = &policy.Expr{Kind: policy.ExprNot, Subs: []*policy.Expr{x}}
		}
		return x
	}
	kind := policy.ExprAnd
	if r.IntN(2) == 0 {
		kind = policy.ExprOr
	}
	x := &policy.Expr{Kind: kind}
	for range 2 + r.IntN(3) {
		x.Subs = append(x.Subs, randIntervalExpr(r, arg, depth-1))
	}
	return x
}

// TestArgSearchAgreesWithOracle: decision lists on one argument, compiled
// as a search over its value, decide as the policy does on every value
// where a comparison changes, and either side of it.
func TestArgSearchAgreesWithOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	searched, n := 0, 40
	if testing.Short() {
		n = 10
	}
	for i := range n {
		p := &policy.Policy{Default: actionPool[r.IntN(len(actionPool))], BadArch: policy.Action{Kind: policy.KillProcess},
			Arches: []*syscalls.Arch{syscalls.X86_64}}
		arg := r.IntN(6)
		for range 2 + r.IntN(12) {
			p.Rules = append(p.Rules, policy.Rule{Action: actionPool[r.IntN(len(actionPool))], Syscalls: []string{"ioctl"},
				When: randIntervalExpr(r, arg, 2)})
		}
		p.BuildIndex()
		prog, err := Compile(p, syscalls.X86_64, Options{})
		if err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		if err := bpf.Validate(prog.Instructions); err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		c := &compiler{p: p}
		if _, _, ok := c.argIntervals(&block{entries: entriesOf(p, "ioctl"), final: p.Default}); ok {
			searched++
		}
		checkAgainstOracle(t, p, prog, argVectors(p, r))
	}
	if searched < n/3 {
		t.Errorf("only %d of %d lists compiled as a search", searched, n)
	}
	t.Logf("%d of %d lists compiled as a search", searched, n)
}

// entriesOf is the decision list the compiler builds for name.
func entriesOf(p *policy.Policy, name string) []entry {
	c := &compiler{p: p, blockIdx: map[string]int{}}
	return c.blocks[c.decide(name)].entries
}

// TestArgSearchOCIRoundTrip: the default policy exported to OCI turns its
// personality allow-list into dozens of range entries; read back, they
// compile to a search, not to hundreds of instructions in a row.
func TestArgSearchOCIRoundTrip(t *testing.T) {
	data, err := os.ReadFile("../policies/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := policy.Parse(data, "default.yaml", policy.Options{Arch: syscalls.X86_64})
	if err != nil {
		t.Fatal(err)
	}
	oci, err := p.MarshalOCI()
	if err != nil {
		t.Fatal(err)
	}
	q, _, err := policy.Parse(oci, "default.json", policy.Options{Arch: syscalls.X86_64, IgnoreUnknown: true})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(q, syscalls.X86_64, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := Measure(q, prog)
	if st.All.Max > 40 {
		t.Errorf("round trip: at most %d instructions executed, want at most 40 (length %d)", st.All.Max, st.Length)
	}
	checkAgainstOracle(t, q, prog, argVectors(q, rand.New(rand.NewPCG(5, 6))))
}
