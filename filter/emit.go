package filter

import (
	"fmt"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policy"
)

// emitter builds a program backwards, from its last instruction to its
// first, so that every jump target is already placed when the jump is
// written. Addresses are reversed indexes: the instruction emitted first
// has address 0 and ends up last in the program.
type emitter struct {
	rev []bpf.Instruction
	// ja[t] is the address of the most recent unconditional jump to t,
	// reused as a trampoline while it is within reach.
	ja map[int]int
}

// maxOff keeps two spare slots below 255 so that a conditional jump
// still reaches its target after up to two trampolines are placed.
const maxOff = 253

func (e *emitter) next() int { return len(e.rev) }

func (e *emitter) off(target int) int { return len(e.rev) - target - 1 }

func (e *emitter) put(ins bpf.Instruction) int {
	e.rev = append(e.rev, ins)
	return len(e.rev) - 1
}

// reach returns an address from which target can be reached by an 8-bit
// jump placed next: target itself or a trampoline (ja) to it.
func (e *emitter) reach(target int) int {
	if e.off(target) <= maxOff {
		return target
	}
	if j, ok := e.ja[target]; ok && e.off(j) <= maxOff {
		return j
	}
	if e.ja == nil {
		e.ja = map[int]int{}
	}
	j := e.put(bpf.JumpAlways(uint32(e.off(target))))
	e.ja[target] = j
	return j
}

// cond places a conditional jump on A op k to t (true) or f (false) and
// returns its address; when t == f no test is needed.
func (e *emitter) cond(op uint16, k uint32, t, f int) int {
	if t == f {
		return t
	}
	t = e.reach(t)
	f = e.reach(f)
	return e.put(bpf.JumpIf(op, k, uint8(e.off(t)), uint8(e.off(f))))
}

// ret places (or reuses, when it is the next instruction) a return.
func (e *emitter) ret(v uint32) int { return e.put(bpf.Ret(v)) }

func (e *emitter) load(off uint32) int { return e.put(bpf.LoadAbs(off)) }

// program returns the instructions in execution order.
func (e *emitter) program() []bpf.Instruction {
	n := len(e.rev)
	out := make([]bpf.Instruction, n)
	for i, ins := range e.rev {
		out[n-1-i] = ins
	}
	return out
}

// expr places code that evaluates x and continues at t when it holds, at
// f when not, and returns its entry address.
func (c *compiler) expr(x *policy.Expr, t, f int) int {
	switch x.Kind {
	case policy.ExprCmp:
		return c.cmp(x.Cmp, t, f)
	case policy.ExprAnd:
		if at, ok := c.valueSet(x, policy.Ne, t, f); ok {
			return at
		}
		at := t
		for i := len(x.Subs) - 1; i >= 0; i-- {
			at = c.expr(x.Subs[i], at, f)
		}
		return at
	case policy.ExprOr:
		if at, ok := c.valueSet(x, policy.Eq, t, f); ok {
			return at
		}
		at := f
		for i := len(x.Subs) - 1; i >= 0; i-- {
			at = c.expr(x.Subs[i], t, at)
		}
		return at
	case policy.ExprNot:
		return c.expr(x.Subs[0], f, t)
	}
	panic(fmt.Sprintf("filter: unknown expression kind %d", x.Kind))
}

// valueSet compiles a run of comparisons of one argument with values that
// share their high half — "argN == v1 || argN == v2 || ..." (op Eq) or
// "argN != v1 && argN != v2 && ..." (op Ne), personality's allow-list say —
// as one load and test of the high half, then one load of the low half and
// a run of tests on it. A value matching goes to match, none to miss, a
// different high half to miss; for Ne the two swap.
func (c *compiler) valueSet(x *policy.Expr, op policy.Op, t, f int) (int, bool) {
	if !sameValueSet(x, op) {
		return 0, false
	}
	arg, hi := x.Subs[0].Cmp.Arg, uint32(x.Subs[0].Cmp.Value>>32)
	match, miss := t, f
	if op == policy.Ne {
		match, miss = f, t
	}
	e := &c.e
	at := miss
	for i := len(x.Subs) - 1; i >= 0; i-- {
		at = e.cond(bpf.JumpJEQ, uint32(x.Subs[i].Cmp.Value), match, at)
	}
	lo := e.load(bpf.ArgLow(arg, c.order))
	if e.cond(bpf.JumpJEQ, hi, lo, miss) == lo {
		return lo, true
	}
	return e.load(bpf.ArgHigh(arg, c.order)), true
}

// cmp compiles one 64-bit comparison as two 32-bit halves, high first:
// the high half decides unless it is equal to the constant's.
func (c *compiler) cmp(k policy.Cmp, t, f int) int {
	e := &c.e
	if t == f {
		return t
	}
	hiOff, loOff := bpf.ArgHigh(k.Arg, c.order), bpf.ArgLow(k.Arg, c.order)
	khi, klo := uint32(k.Value>>32), uint32(k.Value)
	switch k.Op {
	case policy.Ne:
		k.Op = policy.Eq
		t, f = f, t
	case policy.Lt: // a < k  is  !(a >= k)
		k.Op = policy.Ge
		t, f = f, t
	case policy.Le: // a <= k  is  !(a > k)
		k.Op = policy.Gt
		t, f = f, t
	}
	switch k.Op {
	case policy.Eq:
		e.cond(bpf.JumpJEQ, klo, t, f)
		lo := e.load(loOff)
		e.cond(bpf.JumpJEQ, khi, lo, f)
		return e.load(hiOff)
	case policy.Gt, policy.Ge:
		op := bpf.JumpJGT
		if k.Op == policy.Ge {
			op = bpf.JumpJGE
		}
		if k.Op == policy.Ge && k.Value == 0 {
			return t
		}
		if k.Op == policy.Gt && k.Value == ^uint64(0) {
			return f
		}
		var lo int
		switch {
		case k.Op == policy.Ge && klo == 0:
			lo = t // low half >= 0 always
		case k.Op == policy.Gt && klo == 0xffffffff:
			lo = f // low half > max never
		default:
			e.cond(op, klo, t, f)
			lo = e.load(loOff)
		}
		// high > khi: true; high == khi: low decides; high < khi: false.
		eq := e.cond(bpf.JumpJEQ, khi, lo, f)
		if khi != 0xffffffff {
			eq = e.cond(bpf.JumpJGT, khi, t, eq)
		}
		if eq == t || eq == f {
			return eq
		}
		return e.load(hiOff)
	case policy.MaskedEq:
		mhi, mlo := uint32(k.Mask>>32), uint32(k.Mask)
		vhi, vlo := uint32(k.Value>>32), uint32(k.Value)
		if vhi&^mhi != 0 || vlo&^mlo != 0 {
			return f // bits outside the mask can never match
		}
		lo := c.maskedHalf(loOff, mlo, vlo, t, f)
		return c.maskedHalf(hiOff, mhi, vhi, lo, f)
	}
	panic(fmt.Sprintf("filter: unknown operator %d", k.Op))
}

// maskedHalf tests (word & m) == v for one half, skipping the test when
// the mask is empty, the AND when it is full, and using jset when the
// mask is a single bit that must be set.
func (c *compiler) maskedHalf(off, m, v uint32, t, f int) int {
	e := &c.e
	if m == 0 || t == f {
		return t // v is 0 when m is: checked by the caller
	}
	if v == m && m&(m-1) == 0 {
		e.cond(bpf.JumpJSET, m, t, f)
		return e.load(off)
	}
	e.cond(bpf.JumpJEQ, v, t, f)
	if m != 0xffffffff {
		e.put(bpf.AndK(m))
	}
	return e.load(off)
}
