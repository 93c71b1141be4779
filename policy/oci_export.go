package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Writing a policy as an OCI runtime-spec seccomp object.
//
// The policy's first-match order has no counterpart in libseccomp, which
// merges all rules of a syscall. So each rule is exported with its
// effective condition: its own, AND NOT the conditions of the earlier
// rules for the same syscall that give another action. The regions of
// different actions are then disjoint, and libseccomp's merging cannot
// change the verdict. Each condition goes to disjunctive normal form; every
// conjunction becomes one entry whose args compare each argument at most
// once (runc ORs repeated indexes), which the per-argument simplification
// below guarantees: a range with holes becomes several entries, and a
// bounded range becomes aligned blocks tested with SCMP_CMP_MASKED_EQ, and
// a negated masked compare ("arg & M != V", which has no operator) becomes
// one single-bit SCMP_CMP_MASKED_EQ entry per bit of M. Entries with the default action are left out (runc skips them anyway).
// Syscalls with identical entries share one "names" list.

// maxOCIEntries bounds the entries one rule may need in OCI form.
const maxOCIEntries = 4096

// ociActionNames and ociOpNames are arrays, not map literals: a map literal
// is built by package init at every start of sysgate.
var ociActionNames = [...]specs.LinuxSeccompAction{
	KillProcess: specs.ActKillProcess,
	KillThread:  specs.ActKillThread,
	Trap:        specs.ActTrap,
	Errno:       specs.ActErrno,
	Notify:      specs.ActNotify,
	Trace:       specs.ActTrace,
	Log:         specs.ActLog,
	Allow:       specs.ActAllow,
}

var ociOpNames = [...]specs.LinuxSeccompOperator{
	Eq:       specs.OpEqualTo,
	Ne:       specs.OpNotEqual,
	Lt:       specs.OpLessThan,
	Le:       specs.OpLessEqual,
	Gt:       specs.OpGreaterThan,
	Ge:       specs.OpGreaterEqual,
	MaskedEq: specs.OpMaskedEqual,
}

// ociOpName is the OCI name of o, or "".
func ociOpName(o Op) specs.LinuxSeccompOperator {
	if int(o) < len(ociOpNames) {
		return ociOpNames[o]
	}
	return ""
}

// MarshalOCI renders [Policy.OCI] as indented JSON, ready to be used as a
// Docker --security-opt seccomp= profile or an OCI linux.seccomp object.
func (p *Policy) MarshalOCI() ([]byte, error) {
	s, err := p.OCI()
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return nil, fmt.Errorf("export OCI seccomp: %w", err)
	}
	return append(b, '\n'), nil
}

// OCI converts p to an OCI runtime-spec seccomp object that runc (through
// libseccomp) enforces with the same verdicts as [Policy.Decide]. It fails
// for what OCI cannot say: seal requests, handlers of notify rules, a bad-arch action other than a
// kill, trap data, an arch set without its family's native arch (libseccomp
// always allows the native arch), or a condition needing more than 4096
// entries.
func (p *Policy) OCI() (*specs.LinuxSeccomp, error) {
	if len(p.Seal) > 0 {
		return nil, fmt.Errorf("export OCI seccomp: cannot express seal %s in OCI; remove it first", strings.Join(p.Seal, ", "))
	}
	if k := p.BadArch.Kind; k != KillProcess && k != KillThread {
		return nil, fmt.Errorf("export OCI seccomp: cannot express bad-arch action %s in OCI (libseccomp kills)", p.BadArch)
	}
	if len(p.Arches) == 0 {
		return nil, fmt.Errorf("export OCI seccomp: policy allows no arch; OCI always allows the native one")
	}
	for _, r := range p.Rules {
		if r.Handler != nil {
			return nil, fmt.Errorf("export OCI seccomp: cannot express handler %s (rule at %s) in OCI, where a notify rule only names the runtime's listener; remove handler: and its parameters first", r.Handler.Name, r.Pos)
		}
	}
	out := &specs.LinuxSeccomp{}
	var err error
	if out.DefaultAction, out.DefaultErrnoRet, err = ociAction(p.Default); err != nil {
		return nil, fmt.Errorf("export OCI seccomp: default action: %w", err)
	}
	for _, a := range p.Arches {
		if !slices.Contains(p.Arches, a.Family()) {
			return nil, fmt.Errorf("export OCI seccomp: cannot express arches without %s in OCI: libseccomp always allows the native arch", a.Family().Name)
		}
		n := a.DockerName()
		if n == "" {
			return nil, fmt.Errorf("export OCI seccomp: arch %s has no libseccomp name", a.Name)
		}
		out.Architectures = append(out.Architectures, specs.Arch(n))
	}

	// Syscalls in order of first mention, each with its entries.
	var (
		order   []string
		entries = make(map[string][]specs.LinuxSyscall)
	)
	for _, r := range p.Rules {
		for _, n := range r.Syscalls {
			if _, ok := entries[n]; ok {
				continue
			}
			es, err := p.ociEntries(n)
			if err != nil {
				return nil, fmt.Errorf("export OCI seccomp: %w", err)
			}
			entries[n] = es
			order = append(order, n)
		}
	}

	// Group syscalls whose entries are identical.
	type group struct {
		names   []string
		entries []specs.LinuxSyscall
	}
	var groups []*group
	byKey := make(map[string]*group)
	for _, n := range order {
		es := entries[n]
		if len(es) == 0 {
			continue
		}
		key, err := json.Marshal(es)
		if err != nil {
			return nil, fmt.Errorf("export OCI seccomp: %w", err)
		}
		g := byKey[string(key)]
		if g == nil {
			g = &group{entries: es}
			byKey[string(key)] = g
			groups = append(groups, g)
		}
		g.names = append(g.names, n)
	}
	for _, g := range groups {
		for _, e := range g.entries {
			e.Names = g.names
			out.Syscalls = append(out.Syscalls, e)
		}
	}
	return out, nil
}

// ociAction maps an action to its OCI name and errnoRet.
func ociAction(a Action) (specs.LinuxSeccompAction, *uint, error) {
	var name specs.LinuxSeccompAction
	if int(a.Kind) < len(ociActionNames) {
		name = ociActionNames[a.Kind]
	}
	if name == "" {
		return "", nil, fmt.Errorf("invalid action %d", a.Kind)
	}
	switch a.Kind {
	case Errno, Trace:
		v := uint(a.Value)
		return name, &v, nil
	case Trap:
		if a.Value != 0 {
			return "", nil, fmt.Errorf("cannot express %s in OCI: SCMP_ACT_TRAP carries no data", a)
		}
	}
	return name, nil, nil
}

// ociEntries computes the entries for one syscall (without names).
func (p *Policy) ociEntries(name string) ([]specs.LinuxSyscall, error) {
	var (
		out   []specs.LinuxSyscall
		seen  = make(map[string]bool)
		rules = p.RulesFor(name)
	)
rule:
	for k, i := range rules {
		r := p.Rules[i]
		if r.From != nil {
			return nil, fmt.Errorf("%s: syscall %s: from: %s has no OCI form (profiles cannot say where a syscall comes from)", r.Pos, name, r.From)
		}
		// The effective condition: this rule's, and none of the earlier
		// ones that give another action. Rules with the default action are
		// left to the default but still negated in later rules.
		var conds []*Expr
		if r.When != nil {
			conds = append(conds, r.When)
		}
		for _, j := range rules[:k] {
			if p.Rules[j].Action == r.Action {
				continue
			}
			if p.Rules[j].When == nil {
				continue rule // never reached
			}
			conds = append(conds, &Expr{Kind: ExprNot, Subs: []*Expr{p.Rules[j].When}})
		}
		if r.Action == p.Default {
			continue
		}
		var eff *Expr
		switch len(conds) {
		case 0:
		case 1:
			eff = conds[0]
		default:
			eff = &Expr{Kind: ExprAnd, Subs: conds}
		}
		argLists, err := ociArgLists(eff)
		if err != nil {
			return nil, fmt.Errorf("%s: syscall %s: %w", r.Pos, name, err)
		}
		act, ret, err := ociAction(r.Action)
		if err != nil {
			return nil, fmt.Errorf("%s: syscall %s: %w", r.Pos, name, err)
		}
		for _, args := range argLists {
			e := specs.LinuxSyscall{Action: act, ErrnoRet: ret, Args: args}
			if len(args) == 0 {
				// Unconditional: libseccomp drops this syscall's
				// conditional rules, and by construction no later rule
				// with another action can be reached.
				return []specs.LinuxSyscall{e}, nil
			}
			key, _ := json.Marshal(e)
			if !seen[string(key)] {
				seen[string(key)] = true
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// dnfConj is a conjunction of comparisons; a DNF is a slice of them
// (nil: false; one empty conjunction: true).
type dnfConj []Cmp

// ociArgLists turns a condition into OCI arg lists, one per entry, each
// comparing an argument at most once.
func ociArgLists(e *Expr) ([][]specs.LinuxSeccompArg, error) {
	d, err := toDNF(e, false)
	if err != nil {
		return nil, err
	}
	var out [][]specs.LinuxSeccompArg
	for _, c := range d {
		alts, err := splitConj(c)
		if err != nil {
			return nil, err
		}
		for _, alt := range alts {
			if len(alt) == 0 {
				return [][]specs.LinuxSeccompArg{nil}, nil // true
			}
			args := make([]specs.LinuxSeccompArg, len(alt))
			for i, c := range alt {
				args[i] = specs.LinuxSeccompArg{Index: uint(c.Arg), Op: ociOpName(c.Op), Value: c.Value}
				if c.Op == MaskedEq {
					args[i].Value, args[i].ValueTwo = c.Mask, c.Value
				}
			}
			out = append(out, args)
			if len(out) > maxOCIEntries {
				return nil, fmt.Errorf("cannot express %s in OCI in fewer than %d entries", e, maxOCIEntries)
			}
		}
	}
	return out, nil
}

// toDNF converts e (negated if neg) to disjunctive normal form.
func toDNF(e *Expr, neg bool) ([]dnfConj, error) {
	if e == nil {
		if neg {
			return nil, nil
		}
		return []dnfConj{{}}, nil
	}
	switch e.Kind {
	case ExprCmp:
		c := e.Cmp
		if c.Arg < 0 || c.Arg > 5 {
			return nil, fmt.Errorf("argument %d out of range 0..5", c.Arg)
		}
		if !neg {
			return []dnfConj{{c}}, nil
		}
		if op, ok := c.Op.Negate(); ok {
			c.Op = op
			return []dnfConj{{c}}, nil
		}
		if c.Op != MaskedEq {
			return nil, fmt.Errorf("invalid operator %d", c.Op)
		}
		// arg&M != V: some bit of M differs from V's; if V has bits
		// outside M the comparison never holds and its negation always does.
		if c.Value&^c.Mask != 0 {
			return []dnfConj{{}}, nil
		}
		if isPrefixMask(c.Mask) {
			// arg&M == V is V <= arg <= V|^M: negated, arg outside.
			var d []dnfConj
			if c.Value > 0 {
				d = append(d, dnfConj{{Arg: c.Arg, Op: Lt, Value: c.Value}})
			}
			if hi := c.Value | ^c.Mask; hi < math.MaxUint64 {
				d = append(d, dnfConj{{Arg: c.Arg, Op: Gt, Value: hi}})
			}
			return d, nil
		}
		var d []dnfConj
		for m := c.Mask; m != 0; m &= m - 1 {
			b := m & -m
			d = append(d, dnfConj{{Arg: c.Arg, Op: MaskedEq, Mask: b, Value: c.Value&b ^ b}})
		}
		return d, nil
	case ExprNot:
		if len(e.Subs) != 1 {
			return nil, fmt.Errorf("negation of %d conditions", len(e.Subs))
		}
		return toDNF(e.Subs[0], !neg)
	case ExprAnd, ExprOr:
		if (e.Kind == ExprOr) != neg { // a disjunction
			var d []dnfConj
			for _, s := range e.Subs {
				sd, err := toDNF(s, neg)
				if err != nil {
					return nil, err
				}
				d = append(d, sd...)
				if len(d) > maxOCIEntries {
					return nil, fmt.Errorf("cannot express %s in OCI in fewer than %d entries", e, maxOCIEntries)
				}
			}
			return d, nil
		}
		d := []dnfConj{{}}
		for _, s := range e.Subs {
			sd, err := toDNF(s, neg)
			if err != nil {
				return nil, err
			}
			var nd []dnfConj
			for _, a := range d {
				for _, b := range sd {
					if c := append(slices.Clip(a), b...); satisfiable(c) {
						nd = append(nd, c)
					}
				}
				if len(nd) > maxOCIEntries {
					return nil, fmt.Errorf("cannot express %s in OCI in fewer than %d entries", e, maxOCIEntries)
				}
			}
			d = nd
		}
		return d, nil
	}
	return nil, fmt.Errorf("invalid condition kind %d", e.Kind)
}

// argSet is what a conjunction says about one argument: a value in
// [lo, hi], none of excl, and arg&mask == val.
type argSet struct {
	lo, hi    uint64
	excl      []uint64
	mask, val uint64
	empty     bool
}

func (s *argSet) add(c Cmp) {
	switch c.Op {
	case Eq:
		s.lo, s.hi = max(s.lo, c.Value), min(s.hi, c.Value)
	case Ne:
		s.excl = append(s.excl, c.Value)
	case Lt:
		if c.Value == 0 {
			s.empty = true
		}
		s.hi = min(s.hi, c.Value-1)
	case Le:
		s.hi = min(s.hi, c.Value)
	case Gt:
		if c.Value == math.MaxUint64 {
			s.empty = true
		}
		s.lo = max(s.lo, c.Value+1)
	case Ge:
		s.lo = max(s.lo, c.Value)
	case MaskedEq:
		if isPrefixMask(c.Mask) && c.Value&^c.Mask == 0 {
			// arg&M == V with M all high bits is V <= arg <= V|^M.
			s.lo, s.hi = max(s.lo, c.Value), min(s.hi, c.Value|^c.Mask)
			break
		}
		if c.Value&^c.Mask != 0 || s.mask&c.Mask&(s.val^c.Value) != 0 {
			s.empty = true
		}
		s.mask |= c.Mask
		s.val |= c.Value
	}
	if s.lo > s.hi {
		s.empty = true
	}
}

// alternatives expresses the set as single comparisons, any of which
// may hold; one nil element means no constraint, none means empty.
func (s *argSet) alternatives(arg int) []*Cmp {
	if s.empty {
		return nil
	}
	// Holes outside the range or the mask's values change nothing.
	var holes []uint64
	for _, x := range s.excl {
		if x >= s.lo && x <= s.hi && x&s.mask == s.val {
			holes = append(holes, x)
		}
	}
	slices.Sort(holes)
	holes = slices.Compact(holes)
	var ivs [][2]uint64
	lo := s.lo
	open := true
	for _, h := range holes {
		if h > lo {
			ivs = append(ivs, [2]uint64{lo, h - 1})
		}
		if h == s.hi {
			open = false
			break
		}
		lo = h + 1
	}
	if open {
		ivs = append(ivs, [2]uint64{lo, s.hi})
	}

	if s.mask == 0 && s.lo == 0 && s.hi == math.MaxUint64 && len(holes) == 1 {
		return []*Cmp{{Arg: arg, Op: Ne, Value: holes[0]}}
	}
	var out []*Cmp
	seen := make(map[Cmp]bool)
	emit := func(c *Cmp) {
		if c == nil {
			out = append(out, nil)
			return
		}
		if !seen[*c] {
			seen[*c] = true
			out = append(out, c)
		}
	}
	for _, iv := range ivs {
		lo, hi := iv[0], iv[1]
		if s.mask == 0 {
			switch {
			case lo == 0 && hi == math.MaxUint64:
				return []*Cmp{nil}
			case lo == hi:
				emit(&Cmp{Arg: arg, Op: Eq, Value: lo})
				continue
			case lo == 0:
				emit(&Cmp{Arg: arg, Op: Le, Value: hi})
				continue
			case hi == math.MaxUint64:
				emit(&Cmp{Arg: arg, Op: Ge, Value: lo})
				continue
			}
		}
		for _, b := range alignedBlocks(lo, hi) {
			// b: arg & b[0] == b[1]; intersect with arg & mask == val.
			if b[0]&s.mask&(b[1]^s.val) != 0 {
				continue
			}
			m, v := b[0]|s.mask, b[1]|s.val
			if m == math.MaxUint64 {
				emit(&Cmp{Arg: arg, Op: Eq, Value: v})
			} else {
				emit(&Cmp{Arg: arg, Op: MaskedEq, Mask: m, Value: v})
			}
		}
	}
	return out
}

func conjString(c dnfConj) string {
	parts := make([]string, len(c))
	for i, x := range c {
		parts[i] = x.String()
	}
	return strings.Join(parts, " && ")
}

// isPrefixMask reports whether m is ones followed by zeros (or zero).
func isPrefixMask(m uint64) bool {
	low := ^m
	return low&(low+1) == 0
}

// satisfiable is a cheap check that prunes conjunctions that obviously
// never hold while building a DNF; it may say true for some that don't.
func satisfiable(c dnfConj) bool {
	var sets [6]*argSet
	for _, x := range c {
		if sets[x.Arg] == nil {
			sets[x.Arg] = &argSet{hi: math.MaxUint64}
		}
		sets[x.Arg].add(x)
	}
	for _, s := range sets {
		if s == nil {
			continue
		}
		if s.empty {
			return false
		}
		if s.lo == s.hi && (slices.Contains(s.excl, s.lo) || s.lo&s.mask != s.val) {
			return false
		}
	}
	return true
}

// alignedBlocks covers [lo, hi] with blocks of 2^k values aligned to 2^k,
// each given as (mask, value) with arg&mask == value.
func alignedBlocks(lo, hi uint64) [][2]uint64 {
	var out [][2]uint64
	for {
		// The largest block aligned at lo that ends within hi.
		k := bits.TrailingZeros64(lo) // 64 for lo == 0
		for k > 0 {
			if k == 64 {
				if hi == math.MaxUint64 {
					break
				}
			} else if lo|(1<<k-1) <= hi {
				break
			}
			k--
		}
		var mask uint64
		if k < 64 {
			mask = ^uint64(0) << k
		}
		out = append(out, [2]uint64{mask, lo})
		end := lo | ^mask
		if end >= hi {
			return out
		}
		lo = end + 1
	}
}

// splitConj turns a conjunction into alternatives that each compare every
// argument at most once.
func splitConj(c dnfConj) ([][]Cmp, error) {
	var sets [6]*argSet
	for _, x := range c {
		if sets[x.Arg] == nil {
			sets[x.Arg] = &argSet{hi: math.MaxUint64}
		}
		sets[x.Arg].add(x)
	}
	alts := [][]Cmp{{}}
	for arg, s := range sets {
		if s == nil {
			continue
		}
		opts := s.alternatives(arg)
		if len(opts) == 0 {
			return nil, nil
		}
		if slices.Contains(opts, nil) {
			continue
		}
		if len(alts)*len(opts) > maxOCIEntries {
			return nil, fmt.Errorf("cannot express %s in OCI in fewer than %d entries", conjString(c), maxOCIEntries)
		}
		var next [][]Cmp
		for _, a := range alts {
			for _, o := range opts {
				next = append(next, append(slices.Clip(a), *o))
			}
		}
		alts = next
	}
	return alts, nil
}
