package filter

import (
	"math/bits"
	"slices"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policy"
)

// A decision list whose conditions all look at one argument, and only
// through comparisons whose truth changes at a few values (==, !=, <, <=,
// >, >=, and & with a mask of high bits, which tests a power-of-two
// aligned range), gives a verdict that is constant between those values.
// Such a list compiles to a binary search over the argument's value, in
// the same two-level form as the instruction-pointer dispatch (high half,
// then low half where needed), instead of its conditions one after the
// other: a policy's "arg0 != a && arg0 != b ..." exported to OCI becomes
// dozens of range entries, which took hundreds of instructions in a row.

// maxArgIntervals bounds the search: beyond it the list is compiled in a
// row (its size, not its speed, would be the problem).
const maxArgIntervals = 256

// argCmps collects the comparisons of x; ok is false if one is not of the
// kinds above.
func argCmps(x *policy.Expr, out []policy.Cmp) ([]policy.Cmp, bool) {
	if x == nil {
		return out, true
	}
	if x.Kind == policy.ExprCmp {
		c := x.Cmp
		if c.Op == policy.MaskedEq {
			// A mask of high bits only: arg & M == V holds on
			// [V, V | ^M], when V has no bit outside M.
			if low := ^c.Mask; low&(low+1) != 0 {
				return out, false
			}
		}
		return append(out, c), true
	}
	for _, s := range x.Subs {
		var ok bool
		if out, ok = argCmps(s, out); !ok {
			return out, false
		}
	}
	return out, true
}

// argIntervals returns the verdicts of a decision list over the values of
// the one argument it looks at, as runs [lo, hi] covering [0, 2^64), and
// the argument; ok is false for a list that is not such a list or would
// not be faster as a search.
func (c *compiler) argIntervals(b *block) (runs []argRun, arg int, ok bool) {
	var cmps []policy.Cmp
	for _, en := range b.entries {
		if en.from != nil {
			return nil, 0, false
		}
		if cmps, ok = argCmps(en.cond, cmps); !ok {
			return nil, 0, false
		}
	}
	if len(cmps) < 4 {
		return nil, 0, false // in a row is as short or shorter
	}
	arg = cmps[0].Arg
	// The values where a comparison's truth can change: it is constant
	// from one to the next.
	starts := []uint64{0}
	after := func(v uint64) { // v+1, unless v is the last value
		if v != ^uint64(0) {
			starts = append(starts, v+1)
		}
	}
	for _, k := range cmps {
		if k.Arg != arg {
			return nil, 0, false
		}
		switch k.Op {
		case policy.Eq, policy.Ne:
			starts = append(starts, k.Value)
			after(k.Value)
		case policy.Lt, policy.Ge:
			starts = append(starts, k.Value)
		case policy.Le, policy.Gt:
			after(k.Value)
		case policy.MaskedEq:
			if k.Value&^k.Mask == 0 { // else it never holds
				starts = append(starts, k.Value)
				after(k.Value | ^k.Mask)
			}
		}
	}
	slices.Sort(starts)
	starts = slices.Compact(starts)
	var args [6]uint64
	for i, s := range starts {
		args[arg] = s
		a := b.final
		for _, en := range b.entries {
			if en.cond.Eval(args) {
				a = en.action
				break
			}
		}
		hi := ^uint64(0)
		if i+1 < len(starts) {
			hi = starts[i+1] - 1
		}
		if n := len(runs); n > 0 && runs[n-1].action == a {
			runs[n-1].hi = hi
			continue
		}
		runs = append(runs, argRun{lo: s, hi: hi, action: a})
	}
	// A search that saves less than two instructions is not worth its
	// size (a short ==/!= set in a row shares its loads already).
	if len(runs) > maxArgIntervals || searchCost(runs)+2 > listCost(b) {
		return nil, 0, false
	}
	return runs, arg, true
}

// listCost is how many instructions the list in a row executes at most
// (every condition tested): a comparison loads and tests each half.
func listCost(b *block) int {
	n := 0
	for _, en := range b.entries {
		n += exprCost(en.cond)
	}
	return n
}

func exprCost(x *policy.Expr) int {
	switch {
	case x == nil:
		return 0
	case x.Kind == policy.ExprCmp && x.Cmp.Op == policy.MaskedEq:
		return 6 // two loads, two ANDs, two tests
	case x.Kind == policy.ExprCmp && (x.Cmp.Op == policy.Eq || x.Cmp.Op == policy.Ne):
		return 4
	case x.Kind == policy.ExprCmp:
		return 5 // the high half is tested twice (> and ==)
	}
	if (x.Kind == policy.ExprOr && sameValueSet(x, policy.Eq)) || (x.Kind == policy.ExprAnd && sameValueSet(x, policy.Ne)) {
		return 3 + len(x.Subs) // see compiler.valueSet
	}
	n := 0
	for _, s := range x.Subs {
		n += exprCost(s)
	}
	return n
}

// sameValueSet says whether compiler.valueSet compiles x: op comparisons
// of one argument with values sharing their high half.
func sameValueSet(x *policy.Expr, op policy.Op) bool {
	if len(x.Subs) < 2 || x.Subs[0].Kind != policy.ExprCmp {
		return false
	}
	first := x.Subs[0].Cmp
	for _, s := range x.Subs {
		if s.Kind != policy.ExprCmp || s.Cmp.Op != op || s.Cmp.Arg != first.Arg || s.Cmp.Value>>32 != first.Value>>32 {
			return false
		}
	}
	return true
}

// searchCost is how many instructions the search executes at most: two
// loads and a balanced search on each half.
func searchCost(runs []argRun) int {
	his := map[uint32]int{} // runs starting in each high half
	for _, r := range runs {
		his[uint32(r.lo>>32)]++
	}
	lows := 1
	for _, n := range his {
		lows = max(lows, n+1) // and the run going on from below
	}
	return 2 + bits.Len(uint(len(his))) + bits.Len(uint(lows-1))
}

// argRun is a run of values of an argument that one verdict decides.
type argRun struct {
	lo, hi uint64
	action policy.Action
}

// argSearch places the search of a list argIntervals accepted.
func (c *compiler) argSearch(runs []argRun, arg int, rets map[uint32]int) int {
	ivs := make([]wordInterval, len(runs))
	for i, r := range runs {
		ivs[i] = wordInterval{lo: r.lo, hi: r.hi, target: c.retAddr(r.action, rets)}
	}
	return c.wordSearch(ivs, bpf.ArgHigh(arg, c.order), bpf.ArgLow(arg, c.order))
}
