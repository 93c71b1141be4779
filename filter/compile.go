package filter

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/region"
	"github.com/sysgate/sysgate/syscalls"
)

// Program is a compiled filter for one native architecture.
type Program struct {
	Arch         *syscalls.Arch    // the native arch the program runs on
	Surfaces     []*syscalls.Arch  // the ABIs it lets through (native first)
	Instructions []bpf.Instruction // ready for seccomp.Install
}

// Options tune the compiler. The zero value is the default.
type Options struct {
	// UncachedWeight is how much more a syscall the kernel cannot cache
	// (denied, or decided on its arguments) weighs than one it can, when
	// the dispatch tree is balanced. Cached syscalls never run the filter
	// after their first call, so the ones that do belong near the root.
	// Zero means the default, 8.
	UncachedWeight float64

	// Regions is the memory map of the target the program is for: the
	// code known when the filter is installed. A rule with from: becomes
	// instruction-pointer range checks over these mappings, placed in the
	// blocks of the syscalls it names (after the number dispatch, so every
	// other syscall stays cacheable); a syscall from code outside them
	// gets USER_NOTIF, for the supervisor to classify and decide with
	// [policy.Policy.DecideAt]. Nil: no code is known, and every syscall
	// whose verdict depends on its region goes to the supervisor.
	Regions *region.Map
}

// ErrTooLong is wrapped by Compile when a program exceeds the kernel's
// limit of 4096 instructions ([bpf.MaxInstructions]). (errors.New with a
// constant, not fmt.Errorf: that would be formatted by package init at
// every start of sysgate.)
var ErrTooLong = errors.New("program exceeds the kernel's limit of 4096 instructions")

// Compile compiles p into one seccomp program for the native arch `arch`
// (or its family: i386 compiles for x86_64). The program checks the audit
// arch first and gives p.BadArch to any ABI p does not allow, dispatches
// on the syscall number with a weighted binary search over merged ranges,
// and decides every argument-independent syscall before loading any
// argument, so the kernel can cache those verdicts (Linux 5.11+).
func Compile(p *policy.Policy, arch *syscalls.Arch, opts Options) (*Program, error) {
	if arch == nil {
		arch = syscalls.Native()
	}
	native := arch.Family()
	c := &compiler{p: p, native: native, order: native.ByteOrder(), opts: opts}
	if c.opts.UncachedWeight == 0 {
		c.opts.UncachedWeight = 8
	}
	for _, a := range p.Arches {
		if a.Family() == native {
			c.surfaces = append(c.surfaces, a)
		}
	}
	if len(c.surfaces) == 0 {
		return nil, fmt.Errorf("compile for %s: the policy allows none of its ABIs (it names %s)", native.Name, archNames(p.Arches))
	}
	// Native ABI first: it is the common case and is checked first.
	sort.SliceStable(c.surfaces, func(i, j int) bool { return c.surfaces[i] == native && c.surfaces[j] != native })
	prog, err := c.compile()
	if err != nil {
		return nil, err
	}
	return &Program{Arch: native, Surfaces: c.surfaces, Instructions: prog}, nil
}

func archNames(as []*syscalls.Arch) string {
	if len(as) == 0 {
		return "none"
	}
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.Name
	}
	return strings.Join(s, ", ")
}

type compiler struct {
	p        *policy.Policy
	native   *syscalls.Arch
	surfaces []*syscalls.Arch
	order    bpf.ByteOrder
	opts     Options

	blocks   []*block
	blockIdx map[string]int
	e        emitter
}

// entry is one step of a decision list: when the call comes from code
// that from selects (nil: anywhere) and cond holds, action.
type entry struct {
	cond   *policy.Expr
	from   *region.Selector
	action policy.Action
}

// block is the code for one distinct decision list: the conditional
// entries in order, then the verdict when none holds.
type block struct {
	entries []entry
	final   policy.Action
	key     string
	addr    int // reversed index of the block's first instruction, once emitted
	emitted bool
	// regional is the instruction-pointer dispatch of a block with from:
	// entries: each range of code goes to the block of the entries that
	// apply there; ranges cover the whole address space.
	regional []ipInterval
}

// constAllow reports whether the block allows without looking at arguments.
func (b *block) constAllow() bool { return len(b.entries) == 0 && b.final.Kind == policy.Allow }

func (c *compiler) intern(entries []entry, final policy.Action) int {
	var sb strings.Builder
	for _, en := range entries {
		fmt.Fprintf(&sb, "%s", en.cond)
		if en.from != nil {
			fmt.Fprintf(&sb, " from %s", en.from)
		}
		fmt.Fprintf(&sb, "->%08x;", en.action.Ret())
	}
	fmt.Fprintf(&sb, "%08x", final.Ret())
	key := sb.String()
	if i, ok := c.blockIdx[key]; ok {
		return i
	}
	b := &block{entries: entries, final: final, key: key}
	c.blocks = append(c.blocks, b)
	i := len(c.blocks) - 1
	c.blockIdx[key] = i
	b.regional = c.resolveRegions(entries, final)
	return i
}

// decide builds the decision list the policy gives syscall `name`: the
// conditional rules before the first unconditional one, adjacent rules
// with the same action joined with ||, trailing rules that give the final
// verdict anyway dropped.
func (c *compiler) decide(name string) int {
	final := c.p.Default
	var entries []entry
	for _, i := range c.p.RulesFor(name) {
		r := &c.p.Rules[i]
		if r.Unconditional() {
			final = r.Action
			break
		}
		if n := len(entries); n > 0 && entries[n-1].action == r.Action && entries[n-1].from == nil && r.From == nil {
			entries[n-1].cond = or(entries[n-1].cond, r.When)
			continue
		}
		entries = append(entries, entry{cond: r.When, from: r.From, action: r.Action})
	}
	for len(entries) > 0 && entries[len(entries)-1].action == final {
		entries = entries[:len(entries)-1]
	}
	return c.intern(entries, final)
}

func or(a, b *policy.Expr) *policy.Expr {
	var subs []*policy.Expr
	for _, e := range []*policy.Expr{a, b} {
		if e.Kind == policy.ExprOr {
			subs = append(subs, e.Subs...)
		} else {
			subs = append(subs, e)
		}
	}
	return &policy.Expr{Kind: policy.ExprOr, Subs: subs}
}

// interval is a run of syscall numbers [lo, hi] that share one block.
type interval struct {
	lo, hi uint32
	block  int
	weight float64
}

// dispatch is the number dispatch for one audit arch value.
type dispatch struct {
	audit     uint32
	intervals []interval
}

const gapWeight = 0.02

// Weight of a syscall outside the native ABI (i386, x32) relative to a native one.
const foreignWeight = 0.25

func (c *compiler) constBlock(a policy.Action) int { return c.intern(nil, a) }

// dispatches partitions the number space of every audit arch the program
// accepts into intervals with their blocks and weights.
func (c *compiler) dispatches() []dispatch {
	var out []dispatch
	seen := map[uint32]bool{}
	for _, s := range c.surfaces {
		if seen[s.Audit] {
			continue
		}
		seen[s.Audit] = true
		d := dispatch{audit: s.Audit}
		// Every ABI sharing this audit value contributes numbers (x86_64
		// and x32); whether each is allowed comes from the oracle.
		type point struct {
			nr    uint32
			block int
			w     float64
		}
		var pts []point
		bounds := map[uint32]bool{0: true}
		for _, a := range syscalls.Arches() {
			if a.Audit != s.Audit {
				continue
			}
			for _, sc := range a.Syscalls() {
				pts = append(pts, point{nr: sc.Nr})
				bounds[sc.Nr] = true
				if sc.Nr != 0xffffffff {
					bounds[sc.Nr+1] = true
				}
			}
		}
		if s.Audit == syscalls.X86_64.Audit {
			bounds[policy.X32Bit] = true
			bounds[0xffffffff] = true
		}
		starts := make([]uint32, 0, len(bounds))
		for b := range bounds {
			starts = append(starts, b)
		}
		sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
		for i, lo := range starts {
			hi := uint32(0xffffffff)
			if i+1 < len(starts) {
				hi = starts[i+1] - 1
			}
			b, w := c.blockAt(s.Audit, lo)
			if n := len(d.intervals); n > 0 && d.intervals[n-1].block == b {
				d.intervals[n-1].hi = hi
				d.intervals[n-1].weight += w
				continue
			}
			d.intervals = append(d.intervals, interval{lo: lo, hi: hi, block: b, weight: w})
		}
		out = append(out, d)
	}
	return out
}

// blockAt mirrors policy.Decide for a number, returning its block and its
// weight in the dispatch tree.
func (c *compiler) blockAt(audit, nr uint32) (int, float64) {
	arch, _ := c.p.Surface(audit, nr)
	if !c.allowed(arch) {
		return c.constBlock(c.p.BadArch), gapWeight
	}
	name, ok := arch.SyscallName(nr)
	if !ok {
		return c.constBlock(c.p.Default), gapWeight
	}
	b := c.decide(name)
	w := 1.0
	if !c.blocks[b].constAllow() {
		w = c.opts.UncachedWeight
	}
	if arch != c.native {
		w *= foreignWeight
	}
	return b, w
}

func (c *compiler) allowed(a *syscalls.Arch) bool {
	for _, s := range c.surfaces {
		if s == a {
			return true
		}
	}
	return false
}
