package filter

import (
	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/region"
)

// ipInterval is a closed range of instruction pointers that one block
// decides.
type ipInterval struct {
	lo, hi uint64
	block  int
}

// notifyAction is the verdict for code that was not there at compile
// time: the supervisor reads the maps and decides.
var notifyAction = policy.Action{Kind: policy.Notify}

// resolveRegions returns, for a decision list with from: entries, the
// dispatch over the instruction-pointer space: each known executable
// mapping goes to the list with the from: conditions decided for it, and
// everything else to the supervisor. It returns nil for a list without
// from: entries.
func (c *compiler) resolveRegions(entries []entry, final policy.Action) []ipInterval {
	regional := false
	for _, en := range entries {
		if en.from != nil {
			regional = true
		}
	}
	if !regional {
		return nil
	}
	unknown := c.constBlock(notifyAction)
	var ivs []ipInterval
	add := func(lo, hi uint64, b int) {
		if n := len(ivs); n > 0 && ivs[n-1].block == b && ivs[n-1].hi+1 == lo {
			ivs[n-1].hi = hi
			return
		}
		ivs = append(ivs, ipInterval{lo: lo, hi: hi, block: b})
	}
	next := uint64(0) // first instruction pointer not yet covered
	if mp := c.opts.Regions; mp != nil {
		for _, m := range mp.Executable() {
			r := region.IPRange(m)
			if r.Lo < next {
				continue // overlapping snapshot lines: keep the first
			}
			if r.Lo > next {
				add(next, r.Lo-1, unknown)
			}
			add(r.Lo, r.Hi, c.resolvedBlock(entries, final, m, mp.Exe))
			next = r.Hi + 1
			if next == 0 {
				return ivs // the map reached the top of the address space
			}
		}
	}
	add(next, ^uint64(0), unknown)
	return ivs
}

// resolvedBlock is the block of a decision list as it stands for code in
// mapping m: entries whose from: does not select m are dropped, and an
// entry left with no condition ends the list.
func (c *compiler) resolvedBlock(entries []entry, final policy.Action, m region.Mapping, exe string) int {
	var out []entry
	for _, en := range entries {
		if en.from != nil && !en.from.Match(m, exe) {
			continue
		}
		if en.cond == nil {
			final = en.action
			break
		}
		if n := len(out); n > 0 && out[n-1].action == en.action {
			out[n-1].cond = or(out[n-1].cond, en.cond)
			continue
		}
		out = append(out, entry{cond: en.cond, action: en.action})
	}
	for len(out) > 0 && out[len(out)-1].action == final {
		out = out[:len(out)-1]
	}
	return c.intern(out, final)
}

// ipDispatch places the instruction-pointer dispatch of a regional block
// and returns its entry. Targets must be placed already.
func (c *compiler) ipDispatch(ivs []ipInterval) int {
	w := make([]wordInterval, len(ivs))
	for i, iv := range ivs {
		w[i] = wordInterval{lo: iv.lo, hi: iv.hi, target: c.blocks[iv.block].addr}
	}
	return c.wordSearch(w, bpf.IPHigh(c.order), bpf.IPLow(c.order))
}

// wordInterval is a closed range of a 64-bit word's values and where the
// search goes for them.
type wordInterval struct {
	lo, hi uint64
	target int
}

// wordSearch places a search over the values of a 64-bit word of
// seccomp_data whose halves are at hiOff and loOff, through ranges that
// cover every value in order, and returns its entry: the high half is
// searched first; a high half that holds more than one target is followed
// by a search on the low half.
func (c *compiler) wordSearch(ivs []wordInterval, hiOff, loOff uint32) int {
	type lowIv struct {
		lo     uint32
		target int
	}
	type hiSeg struct {
		lo, hi uint32 // range of high halves
		target int    // when lows is nil
		lows   []lowIv
	}
	var segs []hiSeg
	addFull := func(h1, h2 uint32, t int) {
		if n := len(segs); n > 0 && segs[n-1].lows == nil && segs[n-1].target == t && segs[n-1].hi+1 == h1 {
			segs[n-1].hi = h2
			return
		}
		segs = append(segs, hiSeg{lo: h1, hi: h2, target: t})
	}
	// pieces collects the low-half intervals of the current high half.
	var cur uint32
	var pieces []lowIv
	flush := func() {
		if len(pieces) == 1 {
			addFull(cur, cur, pieces[0].target)
		} else if len(pieces) > 1 {
			segs = append(segs, hiSeg{lo: cur, hi: cur, lows: pieces})
		}
		pieces = nil
	}
	piece := func(h, lo uint32, t int) {
		if h != cur || pieces == nil {
			flush()
			cur = h
		}
		if n := len(pieces); n > 0 && pieces[n-1].target == t {
			return
		}
		pieces = append(pieces, lowIv{lo: lo, target: t})
	}
	for _, iv := range ivs {
		t := iv.target
		hl, hh := uint32(iv.lo>>32), uint32(iv.hi>>32)
		piece(hl, uint32(iv.lo), t)
		if hh == hl {
			continue
		}
		// The rest of hl is covered; whole high halves in between, then hh from 0.
		flush()
		if hh > hl+1 {
			addFull(hl+1, hh-1, t)
		}
		if uint32(iv.hi) == 0xffffffff {
			addFull(hh, hh, t)
			continue
		}
		cur = hh
		pieces = []lowIv{{lo: 0, target: t}}
	}
	flush()

	// Low searches first (they end up after the high search), then the
	// high search, then the load of the high half.
	e := &c.e
	leaves := make([]int, len(segs))
	starts := make([]uint32, len(segs))
	for i, s := range segs {
		starts[i] = s.lo
		if s.lows == nil {
			leaves[i] = s.target
			continue
		}
		ls := make([]uint32, len(s.lows))
		lt := make([]int, len(s.lows))
		for j, l := range s.lows {
			ls[j], lt[j] = l.lo, l.target
		}
		c.search(ls, lt, 0, len(ls)-1) // falls through from the load below
		leaves[i] = e.load(loOff)
	}
	if len(segs) == 1 {
		return leaves[0] // one high half: no test of it needed
	}
	// Usually every high half but a few (the program's, the libraries';
	// an argument's 0) goes to one place: test those few for equality,
	// highest first.
	var other, mixed []int
	for i, s := range segs {
		if s.lows == nil && (len(other) == 0 || s.target == segs[other[0]].target) {
			other = append(other, i)
		} else if s.lo == s.hi && len(mixed) < 3 {
			mixed = append(mixed, i)
		} else {
			mixed = nil
			break
		}
	}
	if len(other) > 0 && len(mixed) > 0 && len(other)+len(mixed) == len(segs) {
		at := segs[other[0]].target
		for _, i := range mixed { // ascending, so the highest is tested first
			at = e.cond(bpf.JumpJEQ, segs[i].lo, leaves[i], at)
		}
		return e.load(hiOff)
	}
	at := c.search(starts, leaves, 0, len(starts)-1)
	if len(segs) == 1 {
		return at // one high half: no test of it needed
	}
	return e.load(hiOff)
}

// search places a balanced binary search (jge on the first value of each
// right half) over sorted run starts and returns its entry.
func (c *compiler) search(starts []uint32, targets []int, i, j int) int {
	if i == j {
		return targets[i]
	}
	k := (i + j + 1) / 2 // first of the right half
	right := c.search(starts, targets, k, j)
	left := c.search(starts, targets, i, k-1)
	return c.e.cond(bpf.JumpJGE, starts[k], right, left)
}
