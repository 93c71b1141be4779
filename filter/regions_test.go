package filter

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/region"
	"github.com/sysgate/sysgate/syscalls"
)

var libPaths = []string{"/usr/lib/libc.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/opt/plug/libplug.so", "/tmp/x.so"}

// randMap makes a memory map with executable mappings of every kind,
// some adjacent, some straddling 4 GiB boundaries, some near the top.
func randMap(r *rand.Rand) *region.Map {
	mp := &region.Map{Exe: "/usr/bin/prog"}
	addr := uint64(r.IntN(4)) << 32
	for range 2 + r.IntN(10) {
		prev := addr
		switch r.IntN(4) {
		case 0:
			addr += uint64(r.IntN(3)) << 12 // adjacent or close
		case 1:
			addr = (addr>>32+1)<<32 - uint64(r.IntN(3))<<12 // just below a 4 GiB boundary
		default:
			addr += uint64(1+r.IntN(1<<20)) << 12
		}
		addr = max(addr, prev) // mappings never overlap
		size := uint64(1+r.IntN(4)) << 12
		if r.IntN(5) == 0 {
			size = uint64(1+r.IntN(3)) << 32 // spans high halves
		}
		m := region.Mapping{Start: addr, End: addr + size, Perms: "r-xp", Dev: "fe:00"}
		switch r.IntN(6) {
		case 0:
			m.Path = mp.Exe
		case 1:
			m.Path = ""
		case 2:
			m.Path = "[vdso]"
		case 3:
			m.Perms = "rw-p"
		default:
			m.Path = libPaths[r.IntN(len(libPaths))]
		}
		mp.Mappings = append(mp.Mappings, m)
		addr += size
	}
	if r.IntN(4) == 0 {
		mp.Mappings = append(mp.Mappings, region.Mapping{Start: 0xffffffffff600000, End: 0xffffffffff601000, Perms: "--xp", Path: "[vsyscall]"})
	}
	return mp
}

var selectorPool = [][]string{
	{"anon"}, {"exe"}, {"vdso"}, {"lib"}, {"lib:/usr/lib/**"}, {"exe", "lib:/usr/lib/**"},
	{"!lib:/usr/lib/**"}, {"!lib:/usr/lib/**", "!exe"}, {"lib:/opt/**", "anon"}, {"!anon"},
}

// addFrom gives some rules of a random policy a from: condition.
func addFrom(r *rand.Rand, p *policy.Policy) {
	for i := range p.Rules {
		if r.IntN(2) == 0 {
			p.Rules[i].From = region.MustParse(selectorPool[r.IntN(len(selectorPool))]...)
		}
	}
	p.BuildIndex()
}

// ips returns instruction pointers at and around the edges of every
// mapping, and random ones.
func ips(mp *region.Map, r *rand.Rand) []uint64 {
	out := []uint64{0, 1, 0xffffffff, 0x100000000, 0x100000001, ^uint64(0)}
	for _, m := range mp.Mappings {
		for _, v := range []uint64{m.Start - 1, m.Start, m.Start + 1, m.Start + 2, m.End - 1, m.End, m.End + 1, (m.Start + m.End) / 2} {
			out = append(out, v)
		}
	}
	for range 8 {
		out = append(out, r.Uint64())
	}
	return out
}

// regionDependent reports whether any rule naming the syscall has from:.
func regionDependent(p *policy.Policy, audit, nr uint32) bool {
	arch, ok := p.Surface(audit, nr)
	if !ok {
		return false
	}
	name, ok := arch.SyscallName(nr)
	if !ok {
		return false
	}
	for _, i := range p.RulesFor(name) {
		if p.Rules[i].From != nil {
			return true
		}
	}
	return false
}

func TestRegionsAgreeWithOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	n := 80
	if testing.Short() {
		n = 30
	}
	notify := policy.Action{Kind: policy.Notify}
	for i := range n {
		p := randPolicy(r)
		addFrom(r, p)
		mp := randMap(r)
		if i%10 == 0 {
			mp = nil // nothing known: every region-dependent call goes to the supervisor
		}
		prog, err := Compile(p, syscalls.X86_64, Options{Regions: mp})
		if err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		if err := bpf.Validate(prog.Instructions); err != nil {
			t.Fatalf("policy %d: invalid program: %v\n%s", i, err, Disassemble(prog))
		}
		if got := prune(prog.Instructions); len(got) != len(prog.Instructions) {
			t.Fatalf("policy %d: dead code\n%s", i, Disassemble(prog))
		}
		order := prog.Arch.ByteOrder()
		argv := argVectors(p, r)[:6]
		var ipv []uint64
		if mp != nil {
			ipv = ips(mp, r)
		} else {
			ipv = []uint64{0, 0x7f0012345678}
		}
		for _, a := range prog.Surfaces {
			for _, sc := range a.Syscalls() {
				if r.IntN(3) != 0 && !regionDependent(p, a.Audit, sc.Nr) {
					continue
				}
				for _, args := range argv {
					for _, ip := range ipv {
						d := bpf.SeccompData{Nr: sc.Nr, Arch: a.Audit, InstructionPointer: ip, Args: args}
						res, err := bpf.Run(prog.Instructions, d.Bytes(order), order)
						if err != nil {
							t.Fatalf("run: %v", err)
						}
						got := policy.ActionFromRet(res.Ret)
						want, rule := p.DecideAt(a.Audit, sc.Nr, args, ip, mp)
						if _, known := mp.Find(ip); !known && regionDependent(p, a.Audit, sc.Nr) {
							// Unknown code: the supervisor decides, unless the program
							// can tell without the region.
							if got == notify || got == want {
								continue
							}
						}
						if got != want {
							t.Fatalf("policy %d: %s/%s ip %#x args %#x: program says %v, policy says %v (rule %d)\nmaps:\n%s\n%s",
								i, a.Name, sc.Name, ip, args, got, want, rule, mapsText(mp), Disassemble(prog))
						}
					}
				}
			}
		}
	}
}

// TestRegionsCacheable: syscalls whose verdict depends neither on their
// arguments nor on their region stay cacheable with from: rules around.
func TestRegionsCacheable(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for i := range 60 {
		p := randPolicy(r)
		addFrom(r, p)
		prog, err := Compile(p, syscalls.X86_64, Options{Regions: randMap(r)})
		if err != nil {
			t.Fatal(err)
		}
		order := prog.Arch.ByteOrder()
		for _, a := range prog.Surfaces {
			for _, s := range a.Syscalls() {
				if ArgIndependentAllow(p, s.Name) && !bpf.ConstAllow(prog.Instructions, a.Audit, s.Nr, order) {
					t.Fatalf("policy %d: %s/%s is allowed from anywhere whatever the arguments, but not cacheable\n%s", i, a.Name, s.Name, Disassemble(prog))
				}
			}
		}
	}
}

func mapsText(mp *region.Map) string {
	if mp == nil {
		return "(none)"
	}
	ms := append([]region.Mapping(nil), mp.Mappings...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Start < ms[j].Start })
	s := ""
	for _, m := range ms {
		s += fmt.Sprintf("%s (%s)\n", m, mp.Name(m))
	}
	return s
}

// TestSeedPolicy compiles the seed's case, "anything from outside the
// program and the system libraries traps", and checks the path of a
// syscall from allowed code is short.
func TestSeedPolicy(t *testing.T) {
	src := "default: allow\narches: [x86_64]\nrules:\n  - trap: \"%all\"\n    from: [\"!exe\", \"!lib:/usr/lib/**\", \"!vdso\"]\n"
	p, _, err := policy.Parse([]byte(src), "seed.yaml", policy.Options{Arch: syscalls.X86_64})
	if err != nil {
		t.Fatal(err)
	}
	mp := &region.Map{Exe: "/usr/bin/prog", Mappings: []region.Mapping{
		{Start: 0x555555554000, End: 0x555555556000, Perms: "r-xp", Path: "/usr/bin/prog"},
		{Start: 0x7ffff7dd0000, End: 0x7ffff7f20000, Perms: "r-xp", Path: "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{Start: 0x7ffff7fc0000, End: 0x7ffff7fc2000, Perms: "r-xp", Path: "[vdso]"},
		{Start: 0x7ffff7fc5000, End: 0x7ffff7fef000, Perms: "r-xp", Path: "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"},
	}}
	prog, err := Compile(p, syscalls.X86_64, Options{Regions: mp})
	if err != nil {
		t.Fatal(err)
	}
	sysinfo, _ := syscalls.X86_64.Lookup("sysinfo")
	order := prog.Arch.ByteOrder()
	for _, tc := range []struct {
		ip   uint64
		want policy.ActionKind
	}{
		{0x555555555002, policy.Allow}, {0x7ffff7e00000, policy.Allow}, {0x7ffff7fc0010, policy.Allow},
		{0x7ffff7fc3000, policy.Notify}, {0x10000, policy.Notify}, {0x7ffff7fef001, policy.Notify},
	} {
		d := bpf.SeccompData{Nr: sysinfo, Arch: syscalls.X86_64.Audit, InstructionPointer: tc.ip}
		res, err := bpf.Run(prog.Instructions, d.Bytes(order), order)
		if err != nil {
			t.Fatal(err)
		}
		if got := policy.ActionFromRet(res.Ret).Kind; got != tc.want {
			t.Errorf("ip %#x: %v, want %v\n%s", tc.ip, got, tc.want, Disassemble(prog))
		}
		if tc.want == policy.Allow && res.Executed > 13 {
			t.Errorf("ip %#x: %d instructions to allow, want at most 13\n%s", tc.ip, res.Executed, Disassemble(prog))
		}
	}
}
