package filter

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policy"
)

// Stats describe a compiled program: its length, how many (arch, nr)
// pairs the kernel's action cache can serve without running it, and how
// many instructions it executes per syscall.
type Stats struct {
	Arch   string
	Length int
	// Pairs is the number of (ABI, syscall) pairs the program accepts;
	// Cacheable of them are allowed whatever the arguments as the kernel
	// sees it (Linux 5.11+ then skips the filter); ArgIndependentAllow is
	// how many the policy allows whatever the arguments. A correct
	// compiler makes the last two equal.
	Pairs, Cacheable, ArgIndependentAllow int
	// All counts instructions executed for every syscall of the native
	// ABI with zero arguments; Uncached only those the kernel cannot cache.
	All, Uncached Dist
}

// Dist summarises instruction counts.
type Dist struct {
	N      int
	Mean   float64
	Median float64
	Max    int
}

func dist(xs []int) Dist {
	if len(xs) == 0 {
		return Dist{}
	}
	sort.Ints(xs)
	sum := 0
	for _, x := range xs {
		sum += x
	}
	med := float64(xs[len(xs)/2])
	if len(xs)%2 == 0 {
		med = float64(xs[len(xs)/2-1]+xs[len(xs)/2]) / 2
	}
	return Dist{N: len(xs), Mean: float64(sum) / float64(len(xs)), Median: med, Max: xs[len(xs)-1]}
}

// Measure runs the program in the interpreter for every syscall of every
// ABI it accepts, and asks the kernel's cache rule about each.
func Measure(p *policy.Policy, prog *Program) Stats {
	order := prog.Arch.ByteOrder()
	st := Stats{Arch: prog.Arch.Name, Length: len(prog.Instructions)}
	var all, uncached []int
	for _, a := range prog.Surfaces {
		for _, s := range a.Syscalls() {
			st.Pairs++
			cached := bpf.ConstAllow(prog.Instructions, a.Audit, s.Nr, order)
			if cached {
				st.Cacheable++
			}
			if ArgIndependentAllow(p, s.Name) {
				st.ArgIndependentAllow++
			}
			if a != prog.Arch {
				continue
			}
			res, err := bpf.RunSeccomp(prog.Instructions, bpf.SeccompData{Nr: s.Nr, Arch: a.Audit}, order)
			if err != nil {
				continue // cannot happen for a compiled program; Validate tests it
			}
			all = append(all, res.Executed)
			if !cached {
				uncached = append(uncached, res.Executed)
			}
		}
	}
	st.All, st.Uncached = dist(all), dist(uncached)
	return st
}

// ArgIndependentAllow reports whether the policy allows syscall name
// whatever its arguments (on an ABI the policy accepts).
func ArgIndependentAllow(p *policy.Policy, name string) bool {
	for _, i := range p.RulesFor(name) {
		r := &p.Rules[i]
		if r.Action.Kind != policy.Allow {
			return false
		}
		if r.Unconditional() {
			return true
		}
	}
	return p.Default.Kind == policy.Allow
}

func (d Dist) String() string {
	return fmt.Sprintf("mean %.1f, median %.1f, max %d over %d syscalls", d.Mean, d.Median, d.Max, d.N)
}

func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "arch:                   %s\n", s.Arch)
	fmt.Fprintf(&b, "length:                 %d instructions\n", s.Length)
	fmt.Fprintf(&b, "cacheable pairs:        %d of %d (arch, syscall) pairs; %d allowed whatever the arguments\n", s.Cacheable, s.Pairs, s.ArgIndependentAllow)
	fmt.Fprintf(&b, "executed, all:          %v\n", s.All)
	fmt.Fprintf(&b, "executed, uncached:     %v\n", s.Uncached)
	return b.String()
}
