package filter

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/syscalls"
)

// interesting are constants that sit on the edges of 32- and 64-bit comparisons.
var interesting = []uint64{0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
	0x100000000, 0x100000001, 0x1ffffffff, 0x7fffffffffffffff, 0x8000000000000000, 0xffffffff00000000,
	0xfffffffffffffffe, 0xffffffffffffffff}

func randValue(r *rand.Rand) uint64 {
	switch r.IntN(4) {
	case 0:
		return r.Uint64()
	case 1:
		return uint64(r.Uint32())
	default:
		return interesting[r.IntN(len(interesting))]
	}
}

func randExpr(r *rand.Rand, depth int) *policy.Expr {
	if depth == 0 || r.IntN(3) == 0 {
		c := policy.Cmp{Arg: r.IntN(6), Op: policy.Op(r.IntN(int(policy.MaskedEq) + 1)), Value: randValue(r)}
		if c.Op == policy.MaskedEq {
			c.Mask = randValue(r)
			if r.IntN(4) != 0 {
				c.Value &= c.Mask // usually satisfiable
			}
		}
		x := &policy.Expr{Kind: policy.ExprCmp, Cmp: c}
		if c.Op == policy.MaskedEq && r.IntN(4) == 0 {
			x = &policy.Expr{Kind: policy.ExprNot, Subs: []*policy.Expr{x}}
		}
		return x
	}
	kind := policy.ExprAnd
	if r.IntN(2) == 0 {
		kind = policy.ExprOr
	}
	n := 2 + r.IntN(3)
	x := &policy.Expr{Kind: kind}
	for range n {
		x.Subs = append(x.Subs, randExpr(r, depth-1))
	}
	return x
}

var actionPool = []policy.Action{
	{Kind: policy.Allow}, {Kind: policy.Allow}, {Kind: policy.Allow},
	{Kind: policy.Errno, Value: 1}, {Kind: policy.Errno, Value: 38}, {Kind: policy.KillProcess},
	{Kind: policy.KillThread}, {Kind: policy.Trap}, {Kind: policy.Log}, {Kind: policy.Trace, Value: 3}, {Kind: policy.Notify},
}

// randPolicy makes a random policy over x86_64, i386 and x32.
func randPolicy(r *rand.Rand) *policy.Policy {
	var names []string
	for _, a := range []*syscalls.Arch{syscalls.X86_64, syscalls.I386} {
		for _, s := range a.Syscalls() {
			names = append(names, s.Name)
		}
	}
	p := &policy.Policy{
		Default: actionPool[r.IntN(len(actionPool))],
		BadArch: policy.Action{Kind: policy.KillProcess},
	}
	for _, a := range []*syscalls.Arch{syscalls.X86_64, syscalls.I386, syscalls.X32} {
		if r.IntN(3) != 0 {
			p.Arches = append(p.Arches, a)
		}
	}
	if len(p.Arches) == 0 {
		p.Arches = []*syscalls.Arch{syscalls.X86_64}
	}
	nrules := r.IntN(40)
	for range nrules {
		rule := policy.Rule{Action: actionPool[r.IntN(len(actionPool))]}
		seen := map[string]bool{}
		for range 1 + r.IntN(6) {
			n := names[r.IntN(len(names))]
			if r.IntN(3) == 0 {
				n = []string{"read", "openat", "personality", "clone", "socket", "ioctl"}[r.IntN(6)]
			}
			if !seen[n] {
				seen[n] = true
				rule.Syscalls = append(rule.Syscalls, n)
			}
		}
		if r.IntN(2) == 0 {
			rule.When = randExpr(r, 2)
		}
		p.Rules = append(p.Rules, rule)
	}
	p.BuildIndex()
	return p
}

// argVectors builds argument vectors from every constant in the policy's
// conditions (±1, other high half, masked variants) plus random ones.
func argVectors(p *policy.Policy, r *rand.Rand) [][6]uint64 {
	vals := map[uint64]bool{0: true, ^uint64(0): true}
	var walk func(x *policy.Expr)
	walk = func(x *policy.Expr) {
		if x == nil {
			return
		}
		if x.Kind == policy.ExprCmp {
			v := x.Cmp.Value
			for _, w := range []uint64{v, v + 1, v - 1, v ^ 1<<32, v ^ 0xffffffff00000000, v | ^x.Cmp.Mask, v &^ 1, v | 1<<63} {
				vals[w] = true
			}
		}
		for _, s := range x.Subs {
			walk(s)
		}
	}
	for _, rule := range p.Rules {
		walk(rule.When)
	}
	pool := make([]uint64, 0, len(vals))
	for v := range vals {
		pool = append(pool, v)
	}
	var out [][6]uint64
	for _, v := range pool {
		var a [6]uint64
		for i := range a {
			a[i] = v
		}
		out = append(out, a)
	}
	for range 64 {
		var a [6]uint64
		for i := range a {
			if r.IntN(4) == 0 {
				a[i] = r.Uint64()
			} else {
				a[i] = pool[r.IntN(len(pool))]
			}
		}
		out = append(out, a)
	}
	return out
}

// numbers returns the syscall numbers worth trying for an audit arch.
func numbers(audit uint32) []uint32 {
	nrs := []uint32{0, 1, 0x3fffffff, 0x40000000, 0x40000001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 4000, 5000, 6000}
	for _, a := range syscalls.Arches() {
		if a.Audit != audit {
			continue
		}
		for _, s := range a.Syscalls() {
			nrs = append(nrs, s.Nr, s.Nr+1)
		}
	}
	return nrs
}

// checkAgainstOracle runs prog on every interesting (arch, nr, args) and
// fails on the first verdict that differs from the policy's. It returns
// per-instruction hit counts.
func checkAgainstOracle(t testing.TB, p *policy.Policy, prog *Program, argv [][6]uint64) []uint32 {
	t.Helper()
	order := prog.Arch.ByteOrder()
	hits := make([]uint32, len(prog.Instructions))
	audits := []uint32{0, 0xc000003e, 0x40000003, 0xc00000b7, 0x40000028, 0x80000016, 0xc00000f3}
	for _, a := range prog.Surfaces {
		audits = append(audits, a.Audit)
	}
	for _, audit := range audits {
		for _, nr := range numbers(audit) {
			for _, args := range argv {
				want, rule := p.Decide(audit, nr, args)
				d := bpf.SeccompData{Nr: nr, Arch: audit, InstructionPointer: 0x7f0012345678, Args: args}
				res, err := bpf.RunCover(prog.Instructions, d.Bytes(order), order, hits)
				if err != nil {
					t.Fatalf("run: %v\n%s", err, Disassemble(prog))
				}
				if got := policy.ActionFromRet(res.Ret); res.Ret != want.Ret() {
					t.Fatalf("arch %#x nr %d args %#x: program says %v (%#x), policy says %v (rule %d)\n%s",
						audit, nr, args, got, res.Ret, want, rule, Disassemble(prog))
				}
			}
		}
	}
	return hits
}

func TestRandomPoliciesAgreeWithOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 300
	if testing.Short() {
		n = 40
	}
	for i := range n {
		p := randPolicy(r)
		prog, err := Compile(p, syscalls.X86_64, Options{})
		if err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		if err := bpf.Validate(prog.Instructions); err != nil {
			t.Fatalf("policy %d: invalid program: %v\n%s", i, err, Disassemble(prog))
		}
		argv := argVectors(p, r)
		if len(argv) > 24 {
			argv = argv[:24]
		}
		checkAgainstOracle(t, p, prog, argv)
	}
}

func TestNoDeadCode(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 60 {
		p := randPolicy(r)
		prog, err := Compile(p, syscalls.X86_64, Options{})
		if err != nil {
			t.Fatal(err)
		}
		// Every instruction is reachable in the control-flow graph.
		if got := prune(prog.Instructions); len(got) != len(prog.Instructions) {
			t.Fatalf("policy %d: %d of %d instructions unreachable\n%s", i, len(prog.Instructions)-len(got), len(prog.Instructions), Disassemble(prog))
		}
	}
}

func TestCacheable(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 100 {
		p := randPolicy(r)
		prog, err := Compile(p, syscalls.X86_64, Options{})
		if err != nil {
			t.Fatal(err)
		}
		order := prog.Arch.ByteOrder()
		argv := argVectors(p, r)
		for _, a := range prog.Surfaces {
			for _, s := range a.Syscalls() {
				want := ArgIndependentAllow(p, s.Name)
				got := bpf.ConstAllow(prog.Instructions, a.Audit, s.Nr, order)
				if want && !got {
					t.Fatalf("policy %d: %s/%s is allowed whatever the arguments, but the kernel could not cache it\n%s", i, a.Name, s.Name, Disassemble(prog))
				}
				if !got {
					continue
				}
				// Cached: the policy must allow it for every argument vector
				// (a rule whose condition can never hold may make it so).
				for _, args := range argv {
					if v, _ := p.Decide(a.Audit, s.Nr, args); v.Kind != policy.Allow {
						t.Fatalf("policy %d: %s/%s cached as allowed but the policy says %v for %#x\n%s", i, a.Name, s.Name, v, args, Disassemble(prog))
					}
				}
			}
		}
	}
}

func TestFarJumps(t *testing.T) {
	// Many distinct argument checks make blocks long enough that the tree
	// must reach them through trampolines.
	p := &policy.Policy{Default: policy.Action{Kind: policy.Errno, Value: 1}, BadArch: policy.Action{Kind: policy.KillProcess},
		Arches: []*syscalls.Arch{syscalls.X86_64}}
	for i, s := range syscalls.X86_64.Syscalls() {
		if i%2 == 0 {
			continue
		}
		p.Rules = append(p.Rules, policy.Rule{Action: policy.Action{Kind: policy.Allow}, Syscalls: []string{s.Name},
			When: &policy.Expr{Kind: policy.ExprCmp, Cmp: policy.Cmp{Arg: i % 6, Op: policy.Op(i % 6), Value: uint64(i) << 20}}})
	}
	p.BuildIndex()
	prog, err := Compile(p, syscalls.X86_64, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(prog.Instructions) < 600 {
		t.Fatalf("expected a long program, got %d instructions", len(prog.Instructions))
	}
	if err := bpf.Validate(prog.Instructions); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	checkAgainstOracle(t, p, prog, argVectors(p, r)[:16])
}

func TestTooLong(t *testing.T) {
	p := &policy.Policy{Default: policy.Action{Kind: policy.Errno, Value: 1}, BadArch: policy.Action{Kind: policy.KillProcess},
		Arches: []*syscalls.Arch{syscalls.X86_64}}
	for i := range 1200 {
		p.Rules = append(p.Rules, policy.Rule{Action: actionPool[i%len(actionPool)], Syscalls: []string{"ioctl"},
			When: &policy.Expr{Kind: policy.ExprCmp, Cmp: policy.Cmp{Arg: i % 6, Op: policy.Gt, Value: uint64(i)<<33 | uint64(i)}}})
	}
	p.BuildIndex()
	_, err := Compile(p, syscalls.X86_64, Options{})
	if err == nil || !errors.Is(err, ErrTooLong) {
		t.Fatalf("got %v, want ErrTooLong", err)
	}
	if want := fmt.Sprintf("limit of %d instructions", bpf.MaxInstructions); !strings.Contains(ErrTooLong.Error(), want) {
		t.Errorf("ErrTooLong is %q, want it to say %q", ErrTooLong, want)
	}
}

// TestValueSets: runs of == (or of !=) on one argument share their loads,
// and still decide as the policy does, including on the high half.
func TestValueSets(t *testing.T) {
	for _, op := range []policy.Op{policy.Eq, policy.Ne} {
		kind := policy.ExprOr
		if op == policy.Ne {
			kind = policy.ExprAnd
		}
		x := &policy.Expr{Kind: kind}
		for _, v := range []uint64{0, 8, 0x20000, 0x20008, 0xffffffff} {
			x.Subs = append(x.Subs, &policy.Expr{Kind: policy.ExprCmp, Cmp: policy.Cmp{Arg: 0, Op: op, Value: v}})
		}
		p := &policy.Policy{Default: policy.Action{Kind: policy.Allow}, BadArch: policy.Action{Kind: policy.KillProcess},
			Arches: []*syscalls.Arch{syscalls.X86_64},
			Rules:  []policy.Rule{{Action: policy.Action{Kind: policy.Errno, Value: 1}, Syscalls: []string{"personality"}, When: x}}}
		p.BuildIndex()
		prog, err := Compile(p, syscalls.X86_64, Options{})
		if err != nil {
			t.Fatal(err)
		}
		// Arch check (2), number dispatch (5, with the x32 split), two
		// loads, one high-half test, five low-half tests, three returns.
		if n := len(prog.Instructions); n > 18 {
			t.Errorf("%v set: %d instructions, want at most 18\n%s", op, n, Disassemble(prog))
		}
		argv := [][6]uint64{}
		for _, v := range []uint64{0, 1, 8, 9, 0x20000, 0x20008, 0xffffffff, 0x100000000, 0x100000008, 0xfffffffe} {
			argv = append(argv, [6]uint64{v})
		}
		checkAgainstOracle(t, p, prog, argv)
	}
}
