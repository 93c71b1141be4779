package inspect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/syscalls"
)

// ArchSummary is how a filter (or a stack of filters) treats one syscall
// ABI, read back as a policy.
type ArchSummary struct {
	Arch  string `json:"arch"`  // ABI name ("x86_64", "i386", "x32"), or "other" for audit arches outside the family
	Audit uint32 `json:"audit"` // AUDIT_ARCH_* value probed
	// All is set when every number of the ABI, known or not, gets this
	// one verdict whatever the arguments: "kill-process" for an ABI the
	// filter rejects. Groups and Unknown are then empty.
	All    string    `json:"all,omitempty"`
	Groups []Verdict `json:"groups,omitempty"`
	// Unknown is the verdict for numbers not in the syscall table; for
	// "other", the verdicts seen when it is not one.
	Unknown string `json:"unknown,omitempty"`
}

// Verdict is a group of syscalls that get the same treatment.
type Verdict struct {
	// Action is the verdict in policy syntax ("allow", "errno EPERM",
	// "kill-process"), or "depends on arguments" when Dependent.
	Action string `json:"action"`
	// Dependent marks syscalls whose verdict changed with the arguments or
	// the instruction pointer; Seen lists the verdicts observed.
	Dependent bool     `json:"depends_on_arguments,omitempty"`
	Seen      []string `json:"seen,omitempty"`
	// Cacheable marks allowed syscalls for which the kernel's action cache
	// (Linux 5.11) skips the filters altogether (see [bpf.ConstAllow]).
	Cacheable bool     `json:"cacheable,omitempty"`
	Syscalls  []string `json:"syscalls"`
}

const dependsOnArgs = "depends on arguments"

// words is what a filter can read of seccomp_data beyond nr and arch:
// the instruction pointer and the arguments as the 32-bit words ld [k]
// loads, words[i] being at offset 8+4i.
type words [14]uint32

// maxProbes bounds the argument vectors tried on one syscall.
const maxProbes = 256

// baseProbes are tried on every syscall whose path reads arguments: all
// ones, small numbers, alternating bits, only low or only high halves set,
// and a vector whose arguments all differ. (All zeros comes first anyway.)
var baseProbes = []bpf.SeccompData{
	uniform(^uint64(0)),
	uniform(1),
	uniform(0x5555_5555_5555_5555),
	uniform(0xaaaa_aaaa_aaaa_aaaa),
	uniform(0x0000_0000_ffff_ffff),
	uniform(0xffff_ffff_0000_0000),
	{InstructionPointer: 0x7fff_0000_1000, Args: [6]uint64{2, 3, 4, 5, 6, 7}},
}

func uniform(v uint64) bpf.SeccompData {
	return bpf.SeccompData{InstructionPointer: v, Args: [6]uint64{v, v, v, v, v, v}}
}

// cmp is a comparison met on a path: the word at Off, as loaded, against K.
type cmp struct {
	off uint32
	op  uint16 // bpf.JumpJEQ, JumpJGT, JumpJGE or JumpJSET
	k   uint32
}

// candidates are the values of the word that take either side of c.
func (c cmp) candidates() []uint32 {
	switch c.op {
	case bpf.JumpJGT:
		return []uint32{c.k, c.k + 1}
	case bpf.JumpJGE:
		return []uint32{c.k - 1, c.k}
	}
	return []uint32{c.k} // JEQ; JSET (0 is tried anyway)
}

// stack runs a stack of programs (index 0 the oldest) the way
// seccomp_run_filters does: every filter runs, newest first, and the
// verdict with the lowest action, read as a signed number, wins; among
// equals the newest.
type stack struct {
	progs [][]bpf.Instruction
	order bpf.ByteOrder
}

// trace runs the stack on one input and returns the verdict, whether any
// path read beyond nr and arch, and the comparisons of loaded words with
// constants met on the way. Data flow is followed along the path only as
// far as "A still holds the word last loaded, maybe masked", which is how
// filters test arguments; it only chooses further probes.
func (s *stack) trace(audit, nr uint32, w *words) (ret uint32, reads bool, cmps []cmp, err error) {
	data := make([]byte, 0, bpf.SeccompDataSize)
	data = s.order.AppendUint32(data, nr)
	data = s.order.AppendUint32(data, audit)
	for _, x := range w {
		data = s.order.AppendUint32(data, x)
	}
	ret = policy.RetAllow
	for i := len(s.progs) - 1; i >= 0; i-- {
		prog := s.progs[i]
		r, err := bpf.RunTrace(prog, data, s.order)
		if err != nil {
			return 0, false, nil, fmt.Errorf("filter %d: %w", i, err)
		}
		loaded := int64(-1) // offset of the word in A, -1 for anything else
		for _, pc := range r.Path {
			ins := prog[pc]
			switch {
			case ins.Op == bpf.ClassLD|bpf.SizeW|bpf.ModeABS:
				loaded = -1
				if ins.K >= bpf.OffsetIP {
					loaded, reads = int64(ins.K), true
				}
			case ins.Class() == bpf.ClassLD || ins.Op == bpf.ClassMISC|bpf.MiscTXA:
				loaded = -1
			case ins.Class() == bpf.ClassALU && ins.Op&0xf0 != bpf.AluAND:
				loaded = -1
			case loaded >= 0 && ins.IsConditionalJump() && ins.Op&bpf.SrcX == 0:
				cmps = append(cmps, cmp{off: uint32(loaded), op: ins.Op & 0xf0, k: ins.K})
			}
		}
		if int32(r.Ret&policy.RetActionFull) < int32(ret&policy.RetActionFull) {
			ret = r.Ret
		}
	}
	return ret, reads, cmps, nil
}

// highHalf reports whether the word at off is the upper half of the
// instruction pointer or an argument.
func (s *stack) highHalf(off uint32) bool {
	return off == bpf.IPHigh(s.order) || (off >= bpf.OffsetArgs && off == bpf.ArgHigh(int(off-bpf.OffsetArgs)/8, s.order))
}

func (s *stack) toWords(d bpf.SeccompData, bits32 bool) words {
	var w words
	b := d.Bytes(s.order)
	for i := range w {
		off := uint32(bpf.OffsetIP + 4*i)
		if !(bits32 && s.highHalf(off)) {
			w[i] = s.order.Uint32(b[off:])
		}
	}
	return w
}

// verdicts returns the distinct verdicts of syscall nr, sorted. When the
// paths taken with zero arguments read nothing beyond nr and arch, that
// verdict is the only one. Otherwise the base probes are tried, and from
// every probe, for each comparison of an argument word with a constant on
// its path, the probe with that word set to the values around the
// constant, until nothing new comes up or maxProbes is reached: this finds
// "arg1 == TCGETS && arg0 == 3" without enumerating. On a 32-bit ABI the
// kernel zero-extends the registers, so high halves stay zero there.
func (s *stack) verdicts(audit, nr uint32, bits32 bool) ([]uint32, error) {
	queue := []words{{}}
	seen := map[words]bool{{}: true}
	push := func(w words) {
		if !seen[w] && len(seen) < maxProbes {
			seen[w] = true
			queue = append(queue, w)
		}
	}
	var rets []uint32
	for i := 0; i < len(queue); i++ {
		w := queue[i]
		ret, reads, cmps, err := s.trace(audit, nr, &w)
		if err != nil {
			return nil, fmt.Errorf("syscall %d of arch %#x: %w", nr, audit, err)
		}
		if !slices.Contains(rets, ret) {
			rets = append(rets, ret)
		}
		if i == 0 {
			if !reads {
				return rets, nil
			}
			for _, d := range baseProbes {
				push(s.toWords(d, bits32))
			}
		}
		for _, c := range cmps {
			if bits32 && s.highHalf(c.off) {
				continue
			}
			for _, v := range c.candidates() {
				child := w
				child[(c.off-bpf.OffsetIP)/4] = v
				push(child)
			}
		}
	}
	return sortedRets(rets), nil
}

func (s *stack) constAllow(audit, nr uint32) bool {
	for _, prog := range s.progs {
		if !bpf.ConstAllow(prog, audit, nr, s.order) {
			return false
		}
	}
	return true
}

// Summarize reads a stack of seccomp programs (index 0 the oldest, as
// PTRACE_SECCOMP_GET_FILTER numbers them; a single program is a stack of
// one) as a policy for every ABI of native's family, plus the verdict for
// audit arches outside it.
func Summarize(progs [][]bpf.Instruction, native *syscalls.Arch) ([]ArchSummary, error) {
	if len(progs) == 0 {
		return nil, fmt.Errorf("summarize: no programs")
	}
	family := native.Family()
	s := &stack{progs: progs, order: family.ByteOrder()}
	var out []ArchSummary
	for _, a := range append([]*syscalls.Arch{family}, family.SubArches()...) {
		// The action cache has a bitmap for the native and the compat
		// ABI only, indexed by number: x32 numbers (native audit arch,
		// x32 bit set) are past its end and never cached.
		cached := a == family || a.Audit != family.Audit
		sum, err := s.summarizeArch(a, cached)
		if err != nil {
			return nil, err
		}
		out = append(out, sum)
	}
	other, err := s.summarizeOther(family)
	if err != nil {
		return nil, err
	}
	return append(out, other), nil
}

// group is a Verdict under construction.
type group struct {
	rets      []uint32 // one, or several when the verdict depends on arguments
	cacheable bool
	names     []string
}

func (s *stack) summarizeArch(a *syscalls.Arch, cached bool) (ArchSummary, error) {
	sum := ArchSummary{Arch: a.Name, Audit: a.Audit}
	table := slices.Clone(a.Syscalls())
	slices.SortFunc(table, func(x, y syscalls.Syscall) int { return cmpU32(x.Nr, y.Nr) })
	known := map[uint32]bool{}
	var groups []*group
	for _, sc := range table {
		known[sc.Nr] = true
		rets, err := s.verdicts(a.Audit, sc.Nr, a.Bits == 32)
		if err != nil {
			return sum, err
		}
		cacheable := cached && len(rets) == 1 && rets[0] == policy.RetAllow && s.constAllow(a.Audit, sc.Nr)
		i := slices.IndexFunc(groups, func(g *group) bool {
			return slices.Equal(g.rets, rets) && g.cacheable == cacheable
		})
		if i < 0 {
			groups = append(groups, &group{rets: rets, cacheable: cacheable})
			i = len(groups) - 1
		}
		groups[i].names = append(groups[i].names, sc.Name)
	}

	// Numbers outside the table: just past its end, and far beyond it
	// (still below the x32 bit for the ABIs that do not use it).
	var unknown []uint32
	last := a.NrBase
	if len(table) > 0 {
		last = table[len(table)-1].Nr
	}
	for _, nr := range []uint32{last + 1, last + 1000, a.NrBase + 0x0fff_ffff} {
		if known[nr] {
			continue
		}
		rets, err := s.verdicts(a.Audit, nr, a.Bits == 32)
		if err != nil {
			return sum, err
		}
		for _, r := range rets {
			if !slices.Contains(unknown, r) {
				unknown = append(unknown, r)
			}
		}
	}

	// One verdict for everything; an allow the kernel cannot cache keeps
	// its group, so that this is said.
	if len(groups) <= 1 && len(unknown) == 1 && (len(groups) == 0 ||
		(len(groups[0].rets) == 1 && groups[0].rets[0] == unknown[0] &&
			(unknown[0] != policy.RetAllow || groups[0].cacheable))) {
		sum.All = actionString(unknown[0])
		return sum, nil
	}
	slices.SortStableFunc(groups, compareGroups)
	for _, g := range groups {
		sum.Groups = append(sum.Groups, g.verdict())
	}
	sum.Unknown = describe(dependsOnArgs, unknown)
	return sum, nil
}

// summarizeOther probes an audit arch that no ABI uses (0, EM_NONE) with
// the numbers of the family's ABIs and a few more: a filter that checks the
// arch first kills them all, one that does not is shown to vary.
func (s *stack) summarizeOther(family *syscalls.Arch) (ArchSummary, error) {
	nrs := []uint32{0x0fff_ffff, 0xffff_ffff}
	for _, a := range append([]*syscalls.Arch{family}, family.SubArches()...) {
		for _, sc := range a.Syscalls() {
			nrs = append(nrs, sc.Nr)
		}
	}
	slices.Sort(nrs)
	var rets []uint32
	for _, nr := range slices.Compact(nrs) {
		rs, err := s.verdicts(0, nr, false)
		if err != nil {
			return ArchSummary{}, err
		}
		for _, r := range rs {
			if !slices.Contains(rets, r) {
				rets = append(rets, r)
			}
		}
	}
	sum := ArchSummary{Arch: "other", Audit: 0}
	if len(rets) == 1 {
		sum.All = actionString(rets[0])
	} else {
		sum.Unknown = describe("varies", rets)
	}
	return sum, nil
}

func (g *group) verdict() Verdict {
	if len(g.rets) == 1 {
		return Verdict{Action: actionString(g.rets[0]), Cacheable: g.cacheable, Syscalls: g.names}
	}
	v := Verdict{Action: dependsOnArgs, Dependent: true, Syscalls: g.names}
	for _, r := range sortedRets(g.rets) {
		v.Seen = append(v.Seen, actionString(r))
	}
	return v
}

// describe renders the verdicts seen for a set of probes; several are
// said as "how (allow | errno EPERM)".
func describe(how string, rets []uint32) string {
	if len(rets) == 1 {
		return actionString(rets[0])
	}
	var names []string
	for _, r := range sortedRets(rets) {
		names = append(names, actionString(r))
	}
	return how + " (" + strings.Join(names, " | ") + ")"
}

func actionString(ret uint32) string { return policy.ActionFromRet(ret).String() }

// compareRets orders verdicts from the most permissive (allow) to the
// most severe (kill-process), and by value within a kind.
func compareRets(x, y uint32) int {
	ax, ay := policy.ActionFromRet(x), policy.ActionFromRet(y)
	if ax.Kind != ay.Kind {
		return int(ay.Kind) - int(ax.Kind)
	}
	return int(ax.Value) - int(ay.Value)
}

func sortedRets(rets []uint32) []uint32 {
	rs := slices.Clone(rets)
	slices.SortFunc(rs, compareRets)
	return rs
}

// compareGroups puts fixed verdicts first, most permissive first, cacheable
// allows before the others, and argument-dependent groups last.
func compareGroups(x, y *group) int {
	if (len(x.rets) > 1) != (len(y.rets) > 1) {
		if len(x.rets) > 1 {
			return 1
		}
		return -1
	}
	if len(x.rets) > 1 {
		return slices.CompareFunc(sortedRets(x.rets), sortedRets(y.rets), compareRets)
	}
	if c := compareRets(x.rets[0], y.rets[0]); c != 0 {
		return c
	}
	if x.cacheable != y.cacheable {
		if x.cacheable {
			return -1
		}
		return 1
	}
	return 0
}

func cmpU32(x, y uint32) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
