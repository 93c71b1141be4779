package filter

import (
	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policy"
)

// splits returns the optimal alphabetic binary search tree over the
// intervals by weight: split[i*n+j] is the last interval of the left
// subtree of the range i..j. Each internal node is one "jge" on the first
// number of its right subtree, so a leaf's depth is the number of tests
// to reach it and the tree minimises the sum of weight × depth. Knuth's
// monotone split bound makes this O(n²).
func splits(iv []interval) []int32 {
	n := len(iv)
	prefix := make([]float64, n+1)
	for i, x := range iv {
		prefix[i+1] = prefix[i] + x.weight
	}
	// cost and split are n×n, stored flat: [i*n+j].
	cost := make([]float64, n*n)
	split := make([]int32, n*n)
	for i := range n {
		split[i*n+i] = int32(i)
	}
	for length := 2; length <= n; length++ {
		for i := 0; i+length-1 < n; i++ {
			j := i + length - 1
			lo, hi := i, j-1
			if length > 2 {
				lo, hi = int(split[i*n+j-1]), min(int(split[(i+1)*n+j]), j-1)
			}
			best, bestK := cost[i*n+lo]+cost[(lo+1)*n+j], lo
			for k := lo + 1; k <= hi; k++ {
				if c := cost[i*n+k] + cost[(k+1)*n+j]; c < best {
					best, bestK = c, k
				}
			}
			cost[i*n+j] = best + prefix[j+1] - prefix[i]
			split[i*n+j] = int32(bestK)
		}
	}
	return split
}

// tree places the dispatch over iv[i..j] and returns its entry address;
// the blocks must be placed already.
func (c *compiler) tree(iv []interval, split []int32, i, j int) int {
	if i == j {
		return c.blocks[iv[i].block].addr
	}
	k := int(split[i*len(iv)+j])
	right := c.tree(iv, split, k+1, j)
	left := c.tree(iv, split, i, k)
	return c.e.cond(bpf.JumpJGE, iv[k+1].lo, right, left)
}

// placeBlock places the code of a decision list (once) and records its address.
func (c *compiler) placeBlock(b *block, rets map[uint32]int) {
	if b.emitted {
		return
	}
	if b.regional != nil {
		b.addr, b.emitted = c.ipDispatch(b.regional), true
		return
	}
	if runs, arg, ok := c.argIntervals(b); ok {
		b.addr, b.emitted = c.argSearch(runs, arg, rets), true
		return
	}
	at := c.retAddr(b.final, rets)
	for i := len(b.entries) - 1; i >= 0; i-- {
		en := b.entries[i]
		at = c.expr(en.cond, c.retAddr(en.action, rets), at)
	}
	b.addr, b.emitted = at, true
}

func (c *compiler) retAddr(a policy.Action, rets map[uint32]int) int {
	v := a.Ret()
	if at, ok := rets[v]; ok {
		return at
	}
	at := c.e.ret(v)
	rets[v] = at
	return at
}

func (c *compiler) compile() ([]bpf.Instruction, error) {
	c.blockIdx = map[string]int{}
	ds := c.dispatches()
	badArch := c.constBlock(c.p.BadArch)

	// Returns and blocks go last, the blocks that argument checks need
	// ahead of the plain returns, so that trees jump forward to them.
	rets := map[uint32]int{}
	used := make([]bool, len(c.blocks))
	used[badArch] = true
	for _, d := range ds {
		for _, x := range d.intervals {
			used[x.block] = true
			for _, iv := range c.blocks[x.block].regional {
				used[iv.block] = true
			}
		}
	}
	// Constant blocks first (they are single returns), then the ones
	// with argument checks, then the instruction-pointer dispatches that
	// jump to both.
	for pass := 0; pass < 3; pass++ {
		for i, b := range c.blocks {
			p := 1
			switch {
			case b.regional != nil:
				p = 2
			case len(b.entries) == 0:
				p = 0
			}
			if used[i] && p == pass {
				c.placeBlock(b, rets)
			}
		}
	}

	// Arch dispatch: the native audit arch first, then the others; an
	// unexpected arch gets BadArch.
	next := c.blocks[badArch].addr
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		split := splits(d.intervals)
		entry := c.tree(d.intervals, split, 0, len(d.intervals)-1)
		if len(d.intervals) > 1 {
			entry = c.e.load(bpf.OffsetNr)
		}
		next = c.e.cond(bpf.JumpJEQ, d.audit, entry, next)
	}
	c.e.load(bpf.OffsetArch)
	prog := prune(c.e.program())
	if len(prog) > bpf.MaxInstructions {
		return nil, fmtTooLong(len(prog))
	}
	return prog, nil
}
